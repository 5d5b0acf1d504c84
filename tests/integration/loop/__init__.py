"""The whole loop: inputs in, a plan, commands reaching a simulated house."""
