"""Stand-ins for what cannot run locally, each plainly named as such: Slack (its response URLs
and a client that signs slash commands) and Bedrock's runtime (``bedrock``: Converse and
ConverseStream with a small deterministic model)."""
