"""IAM and STS, as far as the local services need them: the credentials each caller signs
with (the user's, and one pair per function's role), SigV4 verification, and the role
policies that decide what a signed caller may do."""
