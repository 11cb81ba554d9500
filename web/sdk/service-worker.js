/**
 * service-worker.js: what a chat page's service worker does, to import into the site's own
 * (a service worker must be served from the site's origin, at or above the pages it serves):
 *
 *   // /sw.js
 *   importScripts('/chat/service-worker.js');
 *   ChatSW.shell({ files: ['/', '/app.js', '/chat/chat.js', '/chat/chat-ui.js', '/chat/chat-ui-styles.js', '/chat/text.js', '/chat/dom.js', '/chat/jwt.js', '/chat/codes.js', '/chat/files.js', '/chat/attachments.js'] });
 *   ChatSW.push({ appUrl: '/' });
 *
 * - shell(): an offline app shell. The listed files are cached when the worker installs and kept
 *   fresh (network first); offline, they come from the cache, so a reload shows the app (its room
 *   list and outbox are in the page's storage). Nothing else is touched: API calls, tokens and the
 *   socket always go to the network.
 * - push(): Web Push. A push is JSON `{"type":"message","roomId","roomTitle","senderName",
 *   "preview","seq"}`; it is shown as a notification, one per room (the newest replaces the
 *   last), unless a visible page of the app shows that room right now (the worker asks each
 *   visible page, which answers through chat-ui.js's `serviceWorker` option). A click focuses a
 *   page of the app and opens the room there, or opens `appUrl#/room/<roomId>`.
 *
 * Pages can follow what happened: each is sent `{type: 'chat:notification', shown, roomId, seq}`.
 */
/* eslint-env serviceworker */
/* global self, caches, clients */
(function () {
  'use strict';
  var sw = /** @type {any} */ (self);
  if (sw.ChatSW) return;

  /** @param {string} u */
  function abs(u) {
    return new URL(u, sw.location.href).href;
  }

  /** @param {string} href */
  function pathOf(href) {
    var u = new URL(href);
    return u.origin + u.pathname;
  }

  /** @param {any} data */
  function tellPages(data) {
    return sw.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (list) {
      list.forEach(function (c) {
        c.postMessage(data);
      });
    });
  }

  /** Asks a page which room it shows (null: none, or it does not answer within 500 ms). */
  function askRoom(client) {
    return new Promise(function (resolve) {
      var channel = new MessageChannel();
      var timer = setTimeout(function () {
        resolve(null);
      }, 500);
      channel.port1.onmessage = function (e) {
        clearTimeout(timer);
        resolve(e.data && typeof e.data.roomId === 'string' ? e.data.roomId : null);
      };
      try {
        client.postMessage({ type: 'chat:which-room' }, [channel.port2]);
      } catch (err) {
        clearTimeout(timer);
        resolve(null);
      }
    });
  }

  var ChatSW = {
    /**
     * The offline app shell.
     * @param {{cache?: string, files: string[]}} options `files`: URLs relative to the worker; the
     *   first is the page served for navigations when offline.
     */
    shell: function (options) {
      var cacheName = (options && options.cache) || 'chat-shell-v1';
      var files = ((options && options.files) || []).map(abs);
      var paths = new Set(files.map(pathOf));
      var page = files[0];

      sw.addEventListener('install', function (event) {
        event.waitUntil(
          caches
            .open(cacheName)
            .then(function (cache) {
              return cache.addAll(
                files.map(function (f) {
                  return new Request(f, { cache: 'reload' });
                }),
              );
            })
            .then(function () {
              return sw.skipWaiting();
            }),
        );
      });
      sw.addEventListener('activate', function (event) {
        event.waitUntil(
          caches
            .keys()
            .then(function (keys) {
              return Promise.all(
                keys
                  .filter(function (k) {
                    return k !== cacheName && k.indexOf('chat-shell-') === 0;
                  })
                  .map(function (k) {
                    return caches.delete(k);
                  }),
              );
            })
            .then(function () {
              return sw.clients.claim();
            }),
        );
      });
      sw.addEventListener('fetch', function (event) {
        var req = event.request;
        if (req.method !== 'GET') return;
        var url = new URL(req.url);
        if (url.origin !== sw.location.origin) return;
        var navigation = req.mode === 'navigate' && page && pathOf(url.href) === pathOf(page);
        var key = navigation ? page : url.origin + url.pathname;
        if (!navigation && !paths.has(key)) return; // not the app's: straight to the network
        event.respondWith(
          fetch(req)
            .then(function (res) {
              if (res && res.ok) {
                var copy = res.clone();
                event.waitUntil(
                  caches.open(cacheName).then(function (cache) {
                    return cache.put(key, copy);
                  }),
                );
              }
              return res;
            })
            .catch(function () {
              return caches.match(key).then(function (hit) {
                return hit || Response.error();
              });
            }),
        );
      });
    },

    /**
     * Web Push notifications.
     * @param {{appUrl?: string, icon?: string}} [options] `appUrl`: the app's page (default: the
     *   worker's scope)
     */
    push: function (options) {
      var appUrl = abs((options && options.appUrl) || sw.registration.scope);
      var icon = options && options.icon ? abs(options.icon) : undefined;

      sw.addEventListener('push', function (event) {
        var data = {};
        try {
          data = event.data ? event.data.json() : {};
        } catch (e) {
          data = { preview: event.data ? event.data.text() : '' };
        }
        event.waitUntil(
          sw.clients
            .matchAll({ type: 'window', includeUncontrolled: true })
            .then(function (list) {
              var visible = list.filter(function (c) {
                return c.visibilityState === 'visible';
              });
              return Promise.all(visible.map(askRoom));
            })
            .then(function (rooms) {
              var onScreen = !!data.roomId && rooms.indexOf(data.roomId) >= 0;
              if (onScreen) return tellPages({ type: 'chat:notification', shown: false, roomId: data.roomId, seq: data.seq });
              var group = data.roomTitle && data.senderName && data.roomTitle !== data.senderName;
              var title = data.roomTitle || data.senderName || 'New message';
              var body = (group ? data.senderName + ': ' : '') + (data.preview || '');
              return sw.registration
                .showNotification(title, {
                  body: body,
                  tag: data.roomId ? 'chat:' + data.roomId : 'chat',
                  renotify: !!data.roomId,
                  icon: icon,
                  data: { roomId: data.roomId, seq: data.seq, url: data.roomId ? appUrl.split('#')[0] + '#/room/' + encodeURIComponent(data.roomId) : appUrl },
                })
                .then(function () {
                  return tellPages({ type: 'chat:notification', shown: true, roomId: data.roomId, seq: data.seq, title: title, body: body });
                });
            }),
        );
      });

      sw.addEventListener('notificationclick', function (event) {
        var d = (event.notification && event.notification.data) || {};
        event.notification.close();
        var base = pathOf(appUrl);
        event.waitUntil(
          sw.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (list) {
            var page = list.filter(function (c) {
              return pathOf(c.url) === base;
            })[0];
            if (page) {
              if (d.roomId) page.postMessage({ type: 'chat:open-room', roomId: d.roomId });
              return page.focus();
            }
            return sw.clients.openWindow(d.url || appUrl);
          }),
        );
      });
    },
  };
  sw.ChatSW = ChatSW;
})();
