"""The AWS services moto serves (SQS, SNS, EventBridge, DynamoDB, S3, SSM, Secrets Manager),
with the stack's declared resources made in them."""
