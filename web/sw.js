// The demo app's service worker: the offline app shell (a reload without a network shows the app,
// its room list and its unsent messages) and Web Push notifications. Both come from the SDK's
// service-worker.js; a site imports the same file into its own worker.
/* global importScripts, ChatSW */
importScripts('./sdk/service-worker.js');

ChatSW.shell({
  cache: 'chat-shell-demo-v2',
  files: ['./', './app.js', './app.css', './sdk/chat.js', './sdk/chat-ui.js', './sdk/chat-ui-styles.js', './sdk/text.js', './sdk/dom.js', './sdk/jwt.js', './sdk/codes.js', './sdk/files.js', './sdk/attachments.js'],
});
ChatSW.push({ appUrl: './' });
