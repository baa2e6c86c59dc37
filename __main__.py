"""ackflow's Pulumi program: read the stack's config, build the stack, export its outputs."""

from stack.program import main

main()
