"""The demo: a deterministic ACP agent (kiro-cli in miniature) and a scripted ACP client."""
