"""Four small changes to Invoke's parser, so the CLI reads the way operators type.

1. Optional positionals (invoke#159, open since 2014; PR #635): Invoke fills a positional
   argument while its value is None and then requires it. A task positional named
   `targets` that was not given is set to "" just before that check, so `inv logs` and
   `inv logs jvb --tail 5` both work.
2. An unknown flag is never taken as the value of a positional (`inv start --fast` is an
   error, not a target named '--fast').
3. Docker's habit `inv logs web jvb`: a bare word after a filled `targets` that is no task
   name is added to the targets (`web,jvb`) instead of "No idea what 'jvb' is!".
4. A parse error (unknown flag, missing value) exits 2 with one line, like other bad input.

This patches private Invoke API (ParseMachine). If Invoke ever renames it, `install()`
leaves the parser alone and warns: then write `--targets web,jvb`.
"""

from __future__ import annotations

import sys

OPTIONAL_POSITIONALS = {"targets"}
_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    try:
        from invoke.parser.parser import ParseMachine

        complete_context = ParseMachine.complete_context
        handle = ParseMachine.handle
    except (ImportError, AttributeError):
        print(
            "warning: this Invoke version cannot take optional positionals: use --targets",
            file=sys.stderr,
        )
        return

    def _complete_context(self) -> None:
        context = self.context
        if context is not None:
            for argument in context.positional_args:
                if argument.value is None and argument.name in OPTIONAL_POSITIONALS:
                    argument.value = ""
        complete_context(self)

    def _handle(self, token: str) -> None:
        context = self.context
        if (
            context is not None
            and context.name  # a task's context, not the core flags' first pass
            and not self.ignore_unknown
            and token.startswith("-")
            and token not in context.flags
            and token not in context.inverse_flags
            and not (self.initial and token in self.initial.flags)
            and not self.waiting_for_flag_value
        ):
            self.error(f"No idea what {token!r} is!")  # not a value for a positional
        if (
            context is not None
            and context.name
            and not token.startswith("-")
            and token not in self.contexts
            and not self.waiting_for_flag_value
            and not context.missing_positional_args
        ):
            for argument in context.positional_args:
                if argument.name in OPTIONAL_POSITIONALS and argument.value:
                    argument.value = f"{argument.value},{token}"
                    return
        handle(self, token)

    def _error(self, msg: str) -> None:
        print(f"error: {msg} (see --help)", file=sys.stderr)
        raise SystemExit(2)

    # replacing the parser's methods is the point of this module (mypy: method-assign)
    for name, method in (
        ("complete_context", _complete_context),
        ("handle", _handle),
        ("error", _error),
    ):
        setattr(ParseMachine, name, method)
    _installed = True
