-- Test-bed version of upstream's mod_http_health: GET /health on the HTTP
-- port answers "OK" (200) unless a loaded module is in an error state
-- ("HAS ERRORS", 500), and only to loopback clients (403 otherwise).
module:set_global();

local modulemanager = require "core.modulemanager";

local loopback = module:get_option_set("http_health_allow_ips", { "127.0.0.1", "::1" });

local function text(code, body)
	return { status_code = code; headers = { content_type = "text/plain" }; body = body };
end

module:provides("http", {
	route = {
		GET = function (event)
			if not loopback:contains(event.request.ip) then
				return 403;
			end
			for host in pairs(prosody.hosts) do
				for _, mod in pairs(modulemanager.get_modules(host)) do
					if mod.module.status_type == "error" then
						return text(500, "HAS ERRORS\n");
					end
				end
			end
			return text(200, "OK\n");
		end;
	};
});
