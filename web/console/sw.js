// The operator console's service worker: Web Push only (a waiting visitor while no console is
// open, a visitor's message in one of the operator's sessions), from the SDK's service-worker.js.
// A click focuses an open console or opens one.
/* global importScripts, ChatSW */
importScripts('../sdk/service-worker.js');

ChatSW.push({ appUrl: './' });
