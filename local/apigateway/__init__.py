"""API Gateway (REST APIs): the captured routes served with method requests, VTL mappings,
the AWS and AWS_PROXY Lambda integrations and API Gateway's own gateway responses."""
