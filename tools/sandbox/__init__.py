"""The sandbox: the synthesized application served on the AWS stand-in (`make sandbox`)."""
