"""Bases of the API views: each declares the capability (core.roles) that every operation on it needs."""

from rest_framework.views import APIView

from core.roles import Capability, HasCapability


class ReadApi(APIView):
    """Authenticated, with the VIEW capability."""

    permission_classes = [HasCapability]
    required_capability = Capability.VIEW


class ReviewApi(APIView):
    """Authenticated, with the REVIEW capability."""

    permission_classes = [HasCapability]
    required_capability = Capability.REVIEW


class CurateApi(APIView):
    """Authenticated, with the CURATE capability."""

    permission_classes = [HasCapability]
    required_capability = Capability.CURATE


class RunGpuJobsApi(APIView):
    """Authenticated, with the RUN_GPU_JOBS capability (admins)."""

    permission_classes = [HasCapability]
    required_capability = Capability.RUN_GPU_JOBS
