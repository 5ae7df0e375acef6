/*
 * jitsi-stack test bed: the IFrame API (external_api.js) as the browser test depends on it,
 * written from upstream's source, not copied from it. Where a behaviour is shown here it is
 * upstream's, never a better one:
 * - jitsi/jitsi-meet modules/API/external/external_api.js (the versions with e2eeKey, lobby
 *   and breakout rooms): generateURL() builds `https://${domain}/#jitsi_meet_external_api_id=N`
 *   (the room name as the path) with no http option (the `noSSL` of versions before 2020,
 *   e.g. 015655b9, is gone, and so it is here); _createIFrame() names the frame
 *   jitsiConferenceFrameN with allow="camera; microphone; display-capture; autoplay;
 *   clipboard-write"; the Transport's postis takes `allowedOrigin: new URL(this._url).origin`
 *   and `scope: jitsi_meet_external_api_N`.
 * - modules/transport/Transport.js and constants.js: messages are {type: 'event'|'request'|
 *   'response', data, id}; PostMessageTransportBackend.js sends them with the postis method
 *   'message'.
 * - postis (modules/transport/postis.ts): envelopes {postis: true, scope, method, params} sent
 *   with postMessage(JSON.stringify(...), '*'); a '__ready__' ping every 50 ms until the other
 *   side echoes it; messages from any origin but allowedOrigin are dropped.
 * Only the parts the test uses: the constructor, on/addListener/removeListener, executeCommand,
 * getIFrame and dispose. Events upstream maps are emitted under upstream's names.
 */
(function () {
    'use strict';

    var id = 0;
    var EVENTS = {
        'video-conference-joined': 'videoConferenceJoined',
        'video-conference-left': 'videoConferenceLeft',
        'participant-joined': 'participantJoined',
        'participant-left': 'participantLeft',
        'video-ready-to-close': 'readyToClose'
    };

    function Postis(options) {
        var scope = options.scope;
        var target = options.window;
        var allowedOrigin = options.allowedOrigin;
        var listeners = {};
        var buffered = [];
        var ready = false;
        var readyId = Date.now() + '-' + Math.random();
        var self = {
            listen: function (method, callback) {
                (listeners[method] = listeners[method] || []).push(callback);
            },
            send: function (opts) {
                if ((ready || opts.method === '__ready__') && target && target.postMessage) {
                    target.postMessage(JSON.stringify({
                        postis: true, scope: scope, method: opts.method, params: opts.params
                    }), '*');
                } else {
                    buffered.push(opts);
                }
            },
            destroy: function () {
                clearInterval(check);
                window.removeEventListener('message', onMessage);
            }
        };
        function onMessage(event) {
            var data;
            try {
                data = JSON.parse(event.data);
            } catch (e) {
                return;
            }
            if (allowedOrigin && event.origin !== allowedOrigin) {
                return;
            }
            if (data && data.postis && data.scope === scope) {
                (listeners[data.method] || []).forEach(function (cb) { cb(data.params); });
            }
        }
        window.addEventListener('message', onMessage, false);
        var check = setInterval(function () {
            self.send({ method: '__ready__', params: readyId });
        }, 50);
        self.listen('__ready__', function (other) {
            if (other === readyId) {
                clearInterval(check);
                ready = true;
                buffered.splice(0).forEach(self.send);
            } else {
                self.send({ method: '__ready__', params: other });
            }
        });
        return self;
    }

    function JitsiMeetExternalAPI(domain, options) {
        options = options || {};
        var roomName = options.roomName || '';
        var parentNode = options.parentNode || document.body;
        var hash = ['jitsi_meet_external_api_id=' + id];
        var config = options.configOverwrite || {};
        Object.keys(config).forEach(function (key) {
            hash.push('config.' + key + '=' + encodeURIComponent(JSON.stringify(config[key])));
        });
        this._url = 'https://' + domain + '/' + encodeURIComponent(roomName)
            + (options.jwt ? '?jwt=' + encodeURIComponent(options.jwt) : '')
            + '#' + hash.join('&');
        this._listeners = {};
        this._frame = document.createElement('iframe');
        this._frame.allow = 'camera; microphone; display-capture; autoplay; clipboard-write';
        this._frame.src = this._url;
        this._frame.name = 'jitsiConferenceFrame' + id;
        this._frame.id = this._frame.name;
        this._frame.style.width = options.width || '100%';
        this._frame.style.height = options.height || '100%';
        this._frame.style.border = 0;
        this._frame.setAttribute('allowFullScreen', 'true');
        if (options.onload) {
            this._frame.onload = options.onload;
        }
        this._frame = parentNode.appendChild(this._frame);
        var api = this;
        this._postis = Postis({
            allowedOrigin: new URL(this._url).origin,
            scope: 'jitsi_meet_external_api_' + id,
            window: this._frame.contentWindow
        });
        this._postis.listen('message', function (message) {
            if (message && message.type === 'event' && message.data) {
                var name = EVENTS[message.data.name];
                if (name) {
                    api.emit(name, message.data);
                }
            }
        });
        this._requestId = 0;
        id++;
    }

    JitsiMeetExternalAPI.prototype.on = function (name, listener) {
        (this._listeners[name] = this._listeners[name] || []).push(listener);
        return this;
    };
    JitsiMeetExternalAPI.prototype.addListener = JitsiMeetExternalAPI.prototype.on;
    JitsiMeetExternalAPI.prototype.addEventListener = JitsiMeetExternalAPI.prototype.on;
    JitsiMeetExternalAPI.prototype.removeListener = function (name, listener) {
        this._listeners[name] = (this._listeners[name] || []).filter(function (l) {
            return l !== listener;
        });
        return this;
    };
    JitsiMeetExternalAPI.prototype.emit = function (name, data) {
        (this._listeners[name] || []).forEach(function (l) { l(data); });
    };
    JitsiMeetExternalAPI.prototype.executeCommand = function (name) {
        var args = Array.prototype.slice.call(arguments, 1);
        this._requestId++;
        this._postis.send({
            method: 'message',
            params: { id: this._requestId, type: 'request', data: { name: name, args: args } }
        });
    };
    JitsiMeetExternalAPI.prototype.getIFrame = function () {
        return this._frame;
    };
    JitsiMeetExternalAPI.prototype.dispose = function () {
        this._postis.destroy();
        if (this._frame && this._frame.parentNode) {
            this._frame.parentNode.removeChild(this._frame);
        }
    };

    window.JitsiMeetExternalAPI = JitsiMeetExternalAPI;
}());
