"""Delivery of finished publications to the institutions (定向推送): ``yibao push`` (docs/push.md)."""
