-- Test bed: `prosodyctl shell user create JID PASSWORD [ROLE]` answers as
-- prosody 13 does ("OK: Created JID with role 'prosody:member'") instead of
-- prosody 0.12's "OK: User created". Everything else of 0.12's admin shell is
-- as in 13 for the commands upstream's image uses: user delete ("User
-- deleted"), user password ("User password changed"), user list (one
-- user@host line per account, then "Showing all N users"), and the errors
-- ("User exists", "No such user", "No such host: ...").
module:set_global();
module:depends("admin_shell");

local env = module:shared("/*/admin_shell/env");
local user = env.user;
local create = user and user.create;
if not create then
	module:log("error", "admin_shell has no user:create to wrap");
	return;
end

function user:create(jid, password, role)
	local ok, message = create(self, jid, password, role);
	if not ok then
		return ok, message;
	end
	return true, ("Created %s with role '%s'"):format(jid, role or "prosody:member");
end
