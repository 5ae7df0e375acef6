/*
 * jitsi-stack test bed: what the meeting page does for an embedder, from upstream's source:
 * modules/API/API.js (jitsi/jitsi-meet) enables the API when the URL's hash carries
 * jitsi_meet_external_api_id (shouldBeEnabled), and init() ends with
 * `this._sendEvent({ name: 'ready' })`, a Transport event ({type: 'event', data}) through
 * PostMessageTransportBackend (postis method 'message', window.opener || window.parent,
 * scope jitsi_meet_external_api_<id>, no allowedOrigin on this side). No conference: the
 * stand-in has no Jitsi Meet front end.
 */
(function () {
    'use strict';

    var match = /[#&]jitsi_meet_external_api_id=(\d+)/.exec(window.location.hash);
    if (!match || !(window.opener || window.parent !== window)) {
        return;
    }
    var scope = 'jitsi_meet_external_api_' + match[1];
    var target = window.opener || window.parent;
    var ready = false;
    var buffered = [];
    var readyId = Date.now() + '-' + Math.random();

    function post(method, params) {
        target.postMessage(JSON.stringify({
            postis: true, scope: scope, method: method, params: params
        }), '*');
    }
    function send(method, params) {
        if (ready) {
            post(method, params);
        } else {
            buffered.push([method, params]);
        }
    }
    window.addEventListener('message', function (event) {
        var data;
        try {
            data = JSON.parse(event.data);
        } catch (e) {
            return;
        }
        if (!data || !data.postis || data.scope !== scope || data.method !== '__ready__') {
            return;
        }
        if (data.params === readyId) {
            clearInterval(check);
            ready = true;
            buffered.splice(0).forEach(function (m) { post(m[0], m[1]); });
        } else {
            post('__ready__', data.params);
        }
    }, false);
    var check = setInterval(function () { post('__ready__', readyId); }, 50);
    send('message', { type: 'event', data: { name: 'ready' } });
}());
