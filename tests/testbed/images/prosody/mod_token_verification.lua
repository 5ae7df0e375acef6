-- Test-bed version of jitsi-meet's mod_token_verification, loaded on the MUC
-- component (upstream: JWT_TOKEN_AUTH_MODULE, default token_verification).
-- On room creation and on every join, the `room` claim of the joining
-- session's token must name the room (lowercased) or be "*"; with
-- enable_domain_verification the `sub` claim must match the MUC domain or
-- tenant too. Otherwise the join is refused: <not-allowed/> (cancel) with
-- the text "Room and token mismatched". Admins (focus, jvb) and sessions
-- without a token (guests) are let through, as upstream. The token options
-- are read from the parent host (muc.meet.jitsi -> meet.jitsi).

local st = require "util.stanza";
local jid_split = require "util.jid".split;
local jid_bare = require "util.jid".bare;

local host = module.host;
local parent = string.gmatch(tostring(host), "%w+.(%w.+)")();
if parent == nil then
	module:log("error", "Failed to start - unable to get parent hostname");
	return;
end
local parent_ctx = module:context(parent);

local Util = module:require "token/util";
local token_util = Util.new(parent_ctx);
if token_util == nil then
	return;
end

local allowlist = module:get_option_set("token_verification_allowlist", {});
local require_token_for_moderation = module:get_option_boolean(
	"token_verification_require_token_for_moderation");

local function verify_user(session, stanza)
	local user_jid = stanza.attr.from;
	if Util.is_admin(user_jid, host) then
		return true;
	end
	local _, user_domain = jid_split(user_jid);
	if allowlist:contains(user_domain) or allowlist:contains(jid_bare(user_jid))
		or session.type == "s2sin" then
		return true;
	end
	if not token_util:verify_room(session, stanza.attr.to) then
		module:log("error", "User %s not allowed to join: %s token room: %s token sub: %s",
			user_jid, tostring(stanza.attr.to), tostring(session.jitsi_meet_room),
			tostring(session.jitsi_meet_domain));
		session.send(st.error_reply(stanza, "cancel", "not-allowed", "Room and token mismatched"));
		return false;
	end
	session.jitsi_meet_verified_room = jid_bare(stanza.attr.to);
	return true;
end

module:hook("muc-room-pre-create", function (event)
	if not verify_user(event.origin, event.stanza) then
		return true;
	end
end, 99);

module:hook("muc-occupant-pre-join", function (event)
	if not verify_user(event.origin, event.stanza) then
		return true;
	end
end, 99);

for _, event_name in ipairs({
	"iq-set/bare/http://jabber.org/protocol/muc#owner:query",
	"iq-set/host/http://jabber.org/protocol/muc#owner:query",
}) do
	module:hook(event_name, function (event)
		local session, stanza = event.origin, event.stanza;
		if not require_token_for_moderation or Util.is_admin(stanza.attr.from, host) then
			return;
		end
		if not session.auth_token or not session.jitsi_meet_room then
			session.send(st.error_reply(stanza, "cancel", "not-allowed",
				"Room modification disabled for guests"));
			return true;
		end
	end, -1);
end
