"""The Pulumi program. Declarative: everything comes from `linq:*` in Pulumi.<stack>.yaml (see stacks/README.md)."""

from components.stack_program import run

run()
