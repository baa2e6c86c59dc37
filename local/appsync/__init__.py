"""AppSync: GraphQL over HTTP and the real-time WebSocket protocol, with APPSYNC_JS resolvers
run in V8."""
