-- Test-bed version of jitsi-meet's resources/prosody-plugins/token/util.lib.lua
-- and luajwtjitsi.lib.lua: the JWT rules of upstream's token authentication,
-- written for Debian's prosody 0.12 (util.hashes, util.json, util.encodings;
-- no luaossl, no cjson, no basexx). `module:require "token/util".new(module)`
-- reads the same options as upstream:
--
--   app_id, app_secret, asap_key_server, allow_empty_token,
--   signature_algorithm (default HS256), asap_accepted_issuers (default
--   { app_id }), asap_accepted_audiences (default { "*" }),
--   asap_require_room_claim (default true), enable_domain_verification
--   (default false), muc_mapper_domain_base, muc_mapper_domain_prefix
--   (default "conference"), muc_mapper_domain
--
-- and checks a token in upstream's order, with upstream's messages:
--   three dot-separated segments ("Invalid token"); header, body and
--   signature decode ("Invalid header" / "Invalid body" / "Invalid signature");
--   typ == "JWT" ("Invalid typ"); alg == signature_algorithm ("Invalid or
--   incorrect alg"); the HMAC over "header.body" with app_secret ("Invalid
--   signature"); exp and nbf numbers if present ("exp must be number" / "nbf
--   must be number"); now >= exp refused ("Not acceptable by exp (...)"), now <
--   nbf refused ("Not acceptable by nbf"), no leeway; iss present and accepted
--   ("'iss' claim is missing" / "invalid 'iss' claim"); room present ("'room'
--   claim is missing"); aud present and accepted ("'aud' claim is missing" /
--   "Invalid audience ('aud' claim)").
-- HS256, HS384 and HS512 only: the test bed has no key server (RSxxx).

local base64 = require "util.encodings".base64;
local hashes = require "util.hashes";
local json = require "util.json";
local jid = require "util.jid";

local supported_algorithms = { HS256 = true, HS384 = true, HS512 = true };

-- HMAC-SHA384: prosody 0.12's util.hashes has sha384 but no hmac_sha384
local function hmac_sha384(key, data)
	local block = 128;
	if #key > block then
		key = hashes.sha384(key);
	end
	key = key .. string.rep("\0", block - #key);
	local ipad = key:gsub(".", function (c) return string.char(c:byte() ~ 0x36); end);
	local opad = key:gsub(".", function (c) return string.char(c:byte() ~ 0x5c); end);
	return hashes.sha384(opad .. hashes.sha384(ipad .. data));
end

local hmac = {
	HS256 = hashes.hmac_sha256;
	HS384 = hmac_sha384;
	HS512 = hashes.hmac_sha512;
};

local function from_url64(data)
	if data:find("[^%w%-_=]") then
		return nil, "invalid base64url";
	end
	data = data:gsub("=+$", ""):gsub("[-_]", { ["-"] = "+", ["_"] = "/" });
	if #data % 4 == 1 then
		return nil, "invalid base64url";
	end
	return base64.decode(data .. string.rep("=", (4 - #data % 4) % 4));
end

local function decode_json(segment)
	local raw = from_url64(segment);
	if not raw then
		return nil;
	end
	local ok, value = pcall(json.decode, raw);
	if not ok or type(value) ~= "table" then
		return nil;
	end
	return value;
end

-- luajwtjitsi's split: segments between dots (and backslashes), empty ones dropped
local function split_token(token)
	local segments = {};
	for part in token:gmatch("([^\\.]+)") do
		segments[#segments + 1] = part;
	end
	return segments;
end

local function verify_claim(claim, accepted)
	for _, value in ipairs(accepted) do
		if value == "*" or claim == value then
			return true;
		end
	end
	return false;
end

-- luajwtjitsi.verify
local function jwt_verify(token, expected_alg, key, accepted_issuers)
	if type(token) ~= "string" then return nil, "token argument must be string"; end
	if type(key) ~= "string" then return nil, "key argument must be string"; end
	if not supported_algorithms[expected_alg] then
		return nil, "Algorithm not supported";
	end
	local segments = split_token(token);
	if #segments ~= 3 then
		return nil, "Invalid token";
	end
	local header = decode_json(segments[1]);
	if not header then return nil, "Invalid header"; end
	local body = decode_json(segments[2]);
	if not body then return nil, "Invalid body"; end
	local signature = from_url64(segments[3]);
	if not signature then return nil, "Invalid signature"; end

	if not header.typ or header.typ ~= "JWT" then
		return nil, "Invalid typ";
	end
	if not header.alg or header.alg ~= expected_alg then
		return nil, "Invalid or incorrect alg";
	end
	local signed = segments[1] .. "." .. segments[2];
	if not hashes.equals(hmac[expected_alg](key, signed), signature) then
		return nil, "Invalid signature";
	end

	if body.exp and type(body.exp) ~= "number" then
		return nil, "exp must be number";
	end
	if body.nbf and type(body.nbf) ~= "number" then
		return nil, "nbf must be number";
	end
	local now = os.time();
	if body.exp and now >= body.exp then
		local extra = "";
		if type(body.iat) == "number" then
			extra = ", valid for:" .. tostring(body.exp - body.iat) .. " sec";
		end
		return nil, "Not acceptable by exp (" .. tostring(now - body.exp) .. " sec since expired" .. extra .. ")";
	end
	if body.nbf and now < body.nbf then
		return nil, "Not acceptable by nbf";
	end
	if accepted_issuers ~= nil then
		if body.iss == nil then
			return nil, "'iss' claim is missing";
		end
		if not verify_claim(body.iss, accepted_issuers) then
			return nil, "invalid 'iss' claim";
		end
	end
	return body;
end

local Util = {};
Util.__index = Util;

function Util.new(module)
	local self = setmetatable({}, Util);
	self.module = module;
	self.appId = module:get_option_string("app_id");
	self.appSecret = module:get_option_string("app_secret");
	self.asapKeyServer = module:get_option_string("asap_key_server");
	self.allowEmptyToken = module:get_option_boolean("allow_empty_token");
	self.signatureAlgorithm = module:get_option_string("signature_algorithm", "HS256");

	self.muc_domain_prefix = module:get_option_string("muc_mapper_domain_prefix", "conference");
	self.muc_domain_base = module:get_option_string("muc_mapper_domain_base");
	if self.muc_domain_base then
		self.muc_domain = module:get_option_string("muc_mapper_domain",
			self.muc_domain_prefix .. "." .. self.muc_domain_base);
	end
	self.enableDomainVerification = module:get_option_boolean("enable_domain_verification", false);

	if self.allowEmptyToken == true then
		module:log("warn", "WARNING - empty tokens allowed");
	end
	if self.appId == nil then
		module:log("error", "'app_id' must not be empty");
		return nil;
	end
	if self.appSecret == nil and self.asapKeyServer == nil then
		module:log("error", "'app_secret' or 'asap_key_server' must be specified");
		return nil;
	end
	if self.asapKeyServer then
		module:log("error", "test bed: asap_key_server (RSxxx tokens) is not supported by the stand-in");
		return nil;
	end

	self.acceptedIssuers = module:get_option_array("asap_accepted_issuers", { self.appId });
	self.acceptedAudiences = module:get_option_array("asap_accepted_audiences", { "*" });
	self.requireRoomClaim = module:get_option_boolean("asap_require_room_claim", true);
	return self;
end

function Util:verify_issuer(iss, accepted)
	if verify_claim(iss, accepted or self.acceptedIssuers) then
		return true;
	end
	return nil, "Invalid issuer ('iss' claim)";
end

function Util:verify_audience(aud)
	if verify_claim(aud, self.acceptedAudiences) then
		return true;
	end
	return nil, "Invalid audience ('aud' claim)";
end

function Util:verify_token(token, secret, accepted_issuers)
	local claims, err = jwt_verify(token, self.signatureAlgorithm, secret,
		accepted_issuers or self.acceptedIssuers);
	if claims == nil then
		return nil, err;
	end
	local alg = claims["alg"];
	if alg ~= nil and (alg == "none" or alg == "") then
		return nil, "'alg' claim must not be empty";
	end
	if claims["iss"] == nil then
		return nil, "'iss' claim is missing";
	end
	local ok, why = self:verify_issuer(claims["iss"], accepted_issuers);
	if not ok then
		return nil, why;
	end
	-- Current jitsi-meet token/util.lib.lua (process_and_verify_token) checks the
	-- audience before the room claim and refuses a token without `sub`; the stand-in
	-- follows it, the stricter of the versions that may ship in stable-11146.
	if claims["aud"] == nil then
		return nil, "'aud' claim is missing";
	end
	ok, why = self:verify_audience(claims["aud"]);
	if not ok then
		return nil, why;
	end
	if self.requireRoomClaim and claims["room"] == nil then
		return nil, "'room' claim is missing";
	end
	if claims["sub"] == nil then
		return nil, "'sub' claim is missing";
	end
	return claims;
end

-- true, or false + condition + text (SASL failure)
function Util:process_and_verify_token(session, accepted_issuers)
	if session.auth_token == nil then
		if self.allowEmptyToken then
			return true;
		end
		return false, "not-allowed", "token required";
	end
	local claims, msg = self:verify_token(session.auth_token, self.appSecret, accepted_issuers);
	if claims == nil then
		return false, "not-allowed", msg;
	end
	session.jitsi_meet_room = claims["room"];
	session.jitsi_meet_domain = claims["sub"];
	local context = claims["context"];
	if type(context) == "table" then
		if context["user"] ~= nil then
			session.jitsi_meet_context_user = context["user"];
		end
		if context["group"] ~= nil then
			session.jitsi_meet_context_group = context["group"];
		end
		if context["features"] ~= nil then
			session.jitsi_meet_context_features = context["features"];
		end
	end
	return true;
end

local function extract_subdomain(room_node)
	return room_node:match("^%[([^%]]+)%](.+)$");
end

-- true when the session may create/join room_address (token_verification)
function Util:verify_room(session, room_address)
	if self.allowEmptyToken and session.auth_token == nil then
		return true;
	end
	local room = jid.split(room_address);
	if room == nil then
		self.module:log("error", "Unable to get name of the MUC room ? to: %s", room_address);
		return true;
	end
	local auth_room = session.jitsi_meet_room;
	if not self.enableDomainVerification then
		-- no room claim: a session without a token (a guest); jicofo decides
		if auth_room and room ~= string.lower(auth_room) and auth_room ~= "*" then
			return false;
		end
		return true;
	end

	local room_address_to_verify = jid.bare(room_address);
	local room_node = jid.node(room_address);
	local target_subdomain, target_room = extract_subdomain(room_node);
	local room_to_check;
	if auth_room == "*" then
		room_to_check = target_room or room_node;
	else
		room_to_check = auth_room;
	end
	local auth_domain = session.jitsi_meet_domain;
	if target_subdomain then
		local subdomain_to_check = auth_domain == "*" and target_subdomain or auth_domain;
		if not self.muc_domain_base then
			self.module:log("warn", "No 'muc_domain_base' option set, denying access!");
			return false;
		end
		return room_address_to_verify == jid.join(
			"[" .. string.lower(subdomain_to_check) .. "]" .. string.lower(room_to_check), self.muc_domain);
	end
	local domain_to_check;
	if auth_domain == "*" then
		domain_to_check = self.muc_domain;
	else
		domain_to_check = self.muc_domain_prefix .. "." .. tostring(auth_domain);
	end
	return room_address_to_verify == jid.join(string.lower(room_to_check), string.lower(domain_to_check));
end

-- jitsi-meet's util.is_admin: the global admins (focus, jvb, ...)
function Util.is_admin(user_jid, host)
	return require "core.usermanager".is_admin(jid.bare(user_jid), host);
end

function Util.is_healthcheck_room(room_jid)
	return tostring(room_jid):match("^__jicofo%-health%-check") ~= nil;
end

return Util;
