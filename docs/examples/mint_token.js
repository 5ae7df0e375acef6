// Mint a Jitsi meeting token in the platform's backend (Node.js, the npm jsonwebtoken package).
//
//     npm install jsonwebtoken
//     JITSI_JWT_APP_ID=callcenter JITSI_JWT_APP_SECRET=... \
//         node mint_token.js "Ticket 4711" "Alice Agent" [alice@example.com] [--moderator]
//
// Prints the token, then the meeting URL. Settings come from the environment (never put the
// secret on the command line): JITSI_JWT_APP_ID, JITSI_JWT_APP_SECRET, JITSI_JWT_ALGORITHM
// (HS256), JITSI_JWT_ISSUER and JITSI_JWT_AUDIENCE (both default to the app id, as
// jitsi-stack does), JITSI_PUBLIC_URL (https://meet.example.com), JITSI_TOKEN_TTL (3600 s).
'use strict';

const jwt = require('jsonwebtoken');

// The room as prosody sees it: the web client lowercases the name and URL-encodes it
// ("Ticket 4711" joins the room "ticket%204711"). '*' lets the token into any room.
function roomClaim(room) {
    if (room === '*') {
        return room;
    }

    return encodeURIComponent(room.normalize('NFKC').toLowerCase()).toLowerCase();
}

function mint(room, name, email = '', moderator = false) {
    const env = process.env;
    const appId = env.JITSI_JWT_APP_ID;
    const now = Math.floor(Date.now() / 1000);
    const user = { name };

    if (email) {
        user.email = email;
    }
    user.moderator = moderator; // read by prosody's token_affiliation
    user.affiliation = moderator ? 'owner' : 'member';

    const claims = {
        iss: env.JITSI_JWT_ISSUER || appId,
        aud: env.JITSI_JWT_AUDIENCE || appId, // one string: prosody refuses an array
        sub: 'meet.jitsi', // the stack's XMPP domain (xmpp.domain)
        room: roomClaim(room),
        iat: now,
        nbf: now - 30, // prosody allows no clock skew: start a little in the past
        exp: now + Number(env.JITSI_TOKEN_TTL || 3600),
        context: { user }
    };

    return jwt.sign(claims, env.JITSI_JWT_APP_SECRET, {
        algorithm: env.JITSI_JWT_ALGORITHM || 'HS256',
        header: { typ: 'JWT' }
    });
}

// The page URL: encode ! ' ( ) * too, which encodeURIComponent leaves alone and the web
// client would strip from the URL's path (so "Sales (EMEA)" would open another room).
function meetingUrl(room, token) {
    const base = (process.env.JITSI_PUBLIC_URL || 'https://meet.example.com').replace(/\/+$/, '');
    const path = encodeURIComponent(room)
        .replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16)}`);

    return `${base}/${path}?jwt=${token}`;
}

if (require.main === module) {
    const flags = process.argv.slice(2);
    const args = flags.filter(a => a !== '--moderator');

    if (args.length < 2 || args.length > 3) {
        console.error('usage: mint_token.js ROOM NAME [EMAIL] [--moderator]');
        process.exit(2);
    }
    const token = mint(args[0], args[1], args[2] || '', flags.includes('--moderator'));

    console.log(token);
    console.log(meetingUrl(args[0], token));
}

module.exports = { mint, meetingUrl, roomClaim };
