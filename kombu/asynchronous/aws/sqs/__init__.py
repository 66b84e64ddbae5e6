"""Async Amazon SQS Client."""
