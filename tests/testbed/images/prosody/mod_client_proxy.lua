-- Test-bed version of upstream's mod_client_proxy (jitsi-meet ships it in
-- resources/prosody-plugins; it comes from prosody-modules). Upstream's
-- prosody runs it as
--
--   Component "focus.<XMPP_DOMAIN>" "client_proxy"
--     target_address = "focus@<XMPP_AUTH_DOMAIN>"
--
-- and so does the test bed, with the same mechanism:
--
-- * The component learns which resources of target_address are online from
--   their presence: it asks for a presence subscription (subscribe) once the
--   server runs, jicofo accepts every subscription request (Smack
--   accept_all), and from then on prosody broadcasts focus's available and
--   unavailable presence to the component.
-- * An IQ get/set sent to the component by anyone else goes to one of those
--   resources, "NAT-ed": from = <component>/<original sender's full JID>,
--   to = <target>/<resource>. The answer (result or error) the target sends
--   to <component>/<sender> goes back to the sender from the component's
--   bare address, so the sender sees an ordinary answer from
--   focus.<XMPP_DOMAIN>.
-- * With no resource online the request is answered service-unavailable
--   (cancel), which is what a browser gets from upstream while jicofo is not
--   connected.
-- * As upstream: presence to the component (other than errors) gets
--   bad-request, messages feature-not-implemented, and the target cannot
--   send its own requests through the component (feature-not-implemented).

if module:get_host_type() ~= "component" then
	error("client_proxy should be loaded as a component", 0);
end

local jid = require "util.jid";
local st = require "util.stanza";

local host = module.host;
local target = module:get_option_string("target_address");
if not target then
	error("client_proxy: target_address is not set", 0);
end
target = jid.prep(target) or target;

-- resources of the target that announced themselves available to us
local online = {};

local function forget(resource)
	for i = #online, 1, -1 do
		if online[i] == resource then
			table.remove(online, i);
		end
	end
end

local function on_target_presence(stanza)
	local kind = stanza.attr.type;
	local _, _, resource = jid.split(stanza.attr.from);
	if kind == "error" then
		online = {};
		module:log("debug", "presence error from %s: no target session left", target);
	elseif kind == "unavailable" then
		if resource then
			forget(resource);
			module:log("debug", "target session %s went offline", resource);
		end
	elseif kind == nil and resource then
		forget(resource);
		table.insert(online, resource);
		module:log("debug", "target session %s is online", resource);
	end
	-- subscribe/subscribed/unsubscribe...: the subscription handshake needs no action
end

-- a stanza from the target to <component>/<original sender>
local function from_target(stanza)
	local kind = stanza.attr.type;
	if stanza.name == "iq" and (kind == "result" or kind == "error") then
		local _, _, natted = jid.split(stanza.attr.to);
		local original = natted and jid.prep(natted);
		if not original then
			module:log("debug", "cannot route the answer to %s back", tostring(stanza.attr.to));
			return;
		end
		stanza.attr.from, stanza.attr.to = host, original;
		module:send(stanza);
	elseif stanza.name ~= "presence" and kind ~= "error" and kind ~= "result" then
		-- requests on behalf of the target are not proxied (nor are they upstream)
		module:send(st.error_reply(stanza, "cancel", "feature-not-implemented"));
	end
end

-- a stanza from anybody else to the component
local function to_target(stanza)
	local kind = stanza.attr.type;
	if stanza.name == "iq" then
		if kind ~= "get" and kind ~= "set" then
			return; -- stray results and errors are dropped
		end
		if #online == 0 then
			module:log("debug", "no %s session online for a request from %s", target,
				tostring(stanza.attr.from));
			module:send(st.error_reply(stanza, "cancel", "service-unavailable"));
			return;
		end
		if not stanza.attr.from then
			return;
		end
		local resource = online[math.random(#online)];
		stanza.attr.from = host .. "/" .. stanza.attr.from;
		stanza.attr.to = target .. "/" .. resource;
		module:send(stanza);
	elseif stanza.name == "presence" then
		if kind ~= "error" then
			module:send(st.error_reply(stanza, "cancel", "bad-request"));
		end
	elseif kind ~= "error" then
		module:send(st.error_reply(stanza, "cancel", "feature-not-implemented"));
	end
end

local function handle(event)
	local stanza = event.stanza;
	local from = stanza.attr.from;
	if from and jid.bare(from) == target then
		local _, _, to_resource = jid.split(stanza.attr.to);
		if to_resource then
			from_target(stanza);
		elseif stanza.name == "presence" then
			on_target_presence(stanza);
		elseif stanza.attr.type ~= "error" and stanza.attr.type ~= "result" then
			module:send(st.error_reply(stanza, "cancel", "bad-request"));
		end
	else
		to_target(stanza);
	end
	return true;
end

for _, name in ipairs({ "iq", "message", "presence" }) do
	for _, to in ipairs({ "host", "bare", "full" }) do
		module:hook(name .. "/" .. to, handle, -1);
	end
end

-- Ask for the target's presence. While the server starts, the target's host
-- may not be active yet: wait for server-started. On a module reload (the
-- prosody image's register-setup does one once the accounts exist) ask at
-- once; an existing subscription makes prosody answer with the target's
-- current presence, which refills `online`.
local function subscribe()
	module:log("debug", "asking %s for a presence subscription", target);
	module:send(st.presence({ type = "subscribe", from = host, to = target }));
end

if prosody.start_time then
	subscribe();
else
	module:hook_global("server-started", subscribe);
end
