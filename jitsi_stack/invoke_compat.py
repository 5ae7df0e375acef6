"""Optional positional arguments for Invoke tasks (`inv start`, `inv start web,jvb`).

Invoke only fills a positional argument while its value is None and then
requires it. Tasks list their optional positionals here; when such an argument
was not given, it is set to "" just before Invoke checks for missing ones, so
`inv logs` and `inv logs jvb --tail 5` both work. Tested in tests/test_tasks.py.
"""

from __future__ import annotations

from invoke.parser.parser import ParseMachine

OPTIONAL_POSITIONALS = {"targets", "target"}
_complete_context = ParseMachine.complete_context


def _complete_context_allowing_optional(self) -> None:
    context = self.context
    if context is not None:
        for argument in context.positional_args:
            if argument.value is None and argument.name in OPTIONAL_POSITIONALS:
                argument.value = ""
    _complete_context(self)


def install() -> None:
    ParseMachine.complete_context = _complete_context_allowing_optional
