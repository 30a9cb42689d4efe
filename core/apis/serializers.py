"""Input and output serializers of the core API (views.py uses them)."""

from rest_framework import serializers


class TokenOutputSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenRevokeOutputSerializer(serializers.Serializer):
    revoked = serializers.BooleanField(help_text="Whether the caller had a token (now deleted).")


class MeOutputSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    capabilities = serializers.ListField(child=serializers.CharField())
