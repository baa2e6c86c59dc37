"""A stand-in for Amazon Bedrock's runtime API, so the real boto3 Converse path runs locally."""
