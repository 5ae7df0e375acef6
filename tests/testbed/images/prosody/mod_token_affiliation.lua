-- Test-bed version of jitsi-meet's mod_token_affiliation (XMPP_MUC_MODULES=
-- token_affiliation), loaded on the MUC component. Same rules as upstream's
-- (jitsi/jitsi-meet 0fa91b1b resources/prosody-plugins/mod_token_affiliation.lua:
-- affiliation_from_token l. 28-45, the muc-occupant-pre-join hook l. 51-86, priority
-- -3.5): when a session that logged in with a token joins a room, its affiliation is
-- set before the join completes: owner (so role moderator) when context.user.affiliation
-- is owner, moderator or teacher, or context.user.moderator is true or "true"; member
-- otherwise. Admins, the jicofo health-check rooms and sessions without a token are left
-- alone; in a members-only room (lobby) only a user already admitted, or joining with the
-- room password, is changed. Only difference: a context.user that is not a table is
-- ignored here.
-- jicofo may still grant owner after the join: with its own authentication on
-- (JICOFO_ENABLE_AUTH, default ENABLE_AUTH) to every token holder, else with
-- ENABLE_AUTO_OWNER (default on) to the first occupant; the test-bed jicofo does both
-- (images/jicofo/jicofo.py).

local Util = module:require "token/util";

local function affiliation_from_token(session)
	if not session or not session.auth_token then
		return nil;
	end
	local user = session.jitsi_meet_context_user;
	if type(user) == "table" then
		local affiliation = user["affiliation"];
		if affiliation == "owner" or affiliation == "moderator" or affiliation == "teacher"
			or user["moderator"] == "true" or user["moderator"] == true then
			return "owner";
		end
	end
	return "member";
end

module:hook("muc-occupant-pre-join", function (event)
	local room, occupant, session = event.room, event.occupant, event.origin;
	if Util.is_healthcheck_room(room.jid) or Util.is_admin(occupant.bare_jid, module.host) then
		return;
	end
	if room:get_members_only() then
		local existing = room:get_affiliation(occupant.bare_jid);
		if not existing or existing == "none" then
			local join = event.stanza:get_child("x", "http://jabber.org/protocol/muc");
			local password = join and join:get_child_text("password", "http://jabber.org/protocol/muc");
			if not (password and room:get_password() and password == room:get_password()) then
				return;
			end
		end
	end
	local affiliation = affiliation_from_token(session);
	if not affiliation then
		return;
	end
	room:set_affiliation(true, occupant.bare_jid, affiliation);
	if affiliation == "owner" then
		occupant.role = "moderator";
	end
	module:log("debug", "set affiliation=%s for %s", affiliation, occupant.bare_jid);
end, -3.5);
