-- Test-bed version of jitsi-meet's mod_auth_token (authentication = "token"),
-- for Debian's prosody 0.12. As upstream:
--
-- * the token comes from the `token` query parameter of the BOSH or
--   websocket URL (lib-jitsi-meet appends ?token=<jwt>), read when the
--   session is created (global events bosh-session / websocket-session);
--   `room` is kept as session.jitsi_bosh_query_room;
-- * the client logs in with SASL ANONYMOUS; the login succeeds only when the
--   token passes token/util's rules (a missing token: "token required",
--   unless allow_empty_token); otherwise the SASL failure carries the
--   condition <not-allowed/> and upstream's text ("Invalid signature", ...);
-- * password logins, registration and account management are refused;
-- * with no usable configuration (no app_id, no app_secret) the module
--   provides no authentication at all: nobody can log in on the host.
--
-- Like upstream, the module registers its own SASL ANONYMOUS mechanism (a
-- random UUID user name, and a failure when the profile refuses). Unlike
-- upstream's, it names the session first, so the plain `anonymous`
-- provider the test bed uses for the guest domain keeps working with it.

local formdecode = require "util.http".formdecode;
local generate_uuid = require "util.uuid".generate;
local new_sasl = require "util.sasl".new;
local sasl = require "util.sasl";

local token_util = module:require "token/util".new(module);
if token_util == nil then
	return;
end

local host = module.host;

local function read_query(event)
	local session, request = event.session, event.request;
	local query = request.url.query;
	if query ~= nil then
		local params = formdecode(query);
		session.auth_token = params and params.token or nil;
		session.jitsi_bosh_query_room = params and params.room or nil;
	end
end

-- mod_bosh and mod_websocket are global modules: their events are global, and
-- (as upstream) every new BOSH/websocket session gets the URL's token, on
-- whichever host it logs in
module:hook_global("bosh-session", read_query);
module:hook_global("websocket-session", read_query);

local provider = {};

function provider.test_password(username, password) -- luacheck: ignore 212
	return nil, "Password based auth not supported";
end

function provider.get_password(username) -- luacheck: ignore 212
	return nil;
end

function provider.set_password(username, password) -- luacheck: ignore 212
	return nil, "Set password not supported";
end

function provider.user_exists(username) -- luacheck: ignore 212
	return nil;
end

function provider.create_user(username, password) -- luacheck: ignore 212
	return nil;
end

function provider.delete_user(username) -- luacheck: ignore 212
	return nil;
end

function provider.get_sasl_handler(session)
	local function get_username_from_token(self, message)
		local res, err, msg = token_util:process_and_verify_token(session);
		local custom = prosody.events.fire_event("pre-jitsi-authentication", session);
		self.username = custom or message;
		return res, err, msg;
	end
	return new_sasl(host, { anonymous = get_username_from_token });
end

module:provides("auth", provider);

local function anonymous(self, message) -- luacheck: ignore 212/message
	local username = generate_uuid();
	self.username = username;
	local result, err, msg = self.profile.anonymous(self, username, self.realm);
	if result == true then
		return "success";
	end
	return "failure", err, msg;
end

sasl.registerMechanism("ANONYMOUS", { "anonymous" }, anonymous);
