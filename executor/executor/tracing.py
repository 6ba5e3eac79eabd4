"""X-Ray: one segment per job, one subsegment per phase, continuing the trace of the Lambda that
submitted the job (JobSpec.trace_header). The SDK is loaded only when tracing is on; it sends UDP to
the daemon, so a missing daemon loses the trace and nothing else."""

from __future__ import annotations

import contextlib


class NoTracer:
    def start(self, name: str, trace_header: str | None, run_id: str) -> None:
        pass

    @contextlib.contextmanager
    def phase(self, name: str):
        yield

    def finish(self, error: str | None) -> None:
        pass


class XRayTracer:
    def __init__(self, service: str):
        from aws_xray_sdk.core import patch, xray_recorder

        # No centralised sampling (it would poll the daemon); the submitter's Sampled flag decides.
        # Calls from the heartbeat thread have no segment of their own: ignore, do not log.
        xray_recorder.configure(service=service, sampling=False, context_missing="IGNORE_ERROR")
        patch(("botocore",))
        self._recorder = xray_recorder
        self._segment = None

    def start(self, name: str, trace_header: str | None, run_id: str) -> None:
        from aws_xray_sdk.core.models.trace_header import TraceHeader

        header = TraceHeader.from_header_str(trace_header) if trace_header else None
        sampled = None if header is None or header.sampled is None else bool(int(header.sampled))
        self._segment = self._recorder.begin_segment(
            name, traceid=header.root if header else None, parent_id=header.parent if header else None,
            sampling=sampled)
        self._segment.put_annotation("run_id", run_id)

    @contextlib.contextmanager
    def phase(self, name: str):
        subsegment = self._recorder.begin_subsegment(name)
        try:
            yield
        except BaseException as exc:
            if subsegment is not None:
                subsegment.add_exception(exc, [])
            raise
        finally:
            self._recorder.end_subsegment()

    def finish(self, error: str | None) -> None:
        if self._segment is None:
            return
        if error:
            self._segment.put_annotation("error_class", error)
            self._segment.add_error_flag()
        self._recorder.end_segment()
        self._segment = None


def make_tracer(enabled: bool, service: str):
    return XRayTracer(service) if enabled else NoTracer()
