"""The target role's credentials for Terraform, refreshed for as long as the job runs.

Role chaining (the job role assuming the tier's target role) caps a session at one hour, while a job
may run for four. So Terraform does not get static keys: it gets an AWS profile whose
`credential_process` prints a credentials file the runner keeps fresh, re-assuming the role every
`TFPIPE_JOB_CREDENTIALS_REFRESH` (15 minutes) in a thread; the SDKs in Terraform, its providers and
its S3 backend run the process again as the `Expiration` it reports draws near.

Trade-off: assuming a role needs the job role's credentials, which must never reach the work user.
So the work user runs no code of ours with them: its `credential_process` is `cat` of a file in a
directory only the runner writes, readable by the work user's group. What untrusted code can take is
what Terraform itself holds: the target role's current session (at most an hour left), never the
means to mint another. A leaked session dies within the hour once the job ends.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path

from executor.isolation import WorkUser

PROFILE = "tfpipe"
DIRECTORY = "aws"  # in the work directory: the runner's, readable by the work user
CREDENTIALS_FILE = "credentials.json"


class RefreshedCredentials:
    """Writes the profile and the credentials file, and refreshes the file from `assume` (which
    returns STS `Credentials`) every `interval` seconds until stopped."""

    def __init__(self, workdir: Path, assume, work: WorkUser, masker, log, interval: float):
        self.directory = Path(workdir) / DIRECTORY
        self._assume = assume
        self._work = work
        self._masker = masker
        self._log = log
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.expiration: datetime | None = None

    @property
    def credentials_path(self) -> Path:
        return self.directory / CREDENTIALS_FILE

    @property
    def config_path(self) -> Path:
        return self.directory / "config"

    def start(self) -> dict[str, str]:
        """Assume the role once (failures raise), write the profile, start refreshing; returns the
        environment that points Terraform at the profile."""
        self.directory.mkdir(mode=0o750, exist_ok=True)
        self._share(self.directory, 0o750)
        self.refresh()
        self._write(self.config_path, f"[profile {PROFILE}]\ncredential_process = cat {self.credentials_path}\n")
        self._write(self.directory / "credentials", "")  # no shared credentials besides the profile
        self._thread = threading.Thread(target=self._loop, name="credentials-refresh", daemon=True)
        self._thread.start()
        return {"AWS_CONFIG_FILE": str(self.config_path), "AWS_SHARED_CREDENTIALS_FILE": str(self.directory / "credentials"),
                "AWS_PROFILE": PROFILE, "AWS_SDK_LOAD_CONFIG": "1"}

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def refresh(self) -> None:
        creds = self._assume()
        for name in ("AccessKeyId", "SecretAccessKey", "SessionToken"):
            self._masker.add(creds[name])
        expiration = creds["Expiration"]
        if isinstance(expiration, str):
            expiration = datetime.fromisoformat(expiration.replace("Z", "+00:00"))
        document = {"Version": 1, "AccessKeyId": creds["AccessKeyId"], "SecretAccessKey": creds["SecretAccessKey"],
                    "SessionToken": creds["SessionToken"], "Expiration": expiration.isoformat()}
        self._write(self.credentials_path, json.dumps(document))
        self.expiration = expiration

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.refresh()
                self._log.event(f"refreshed the target role's credentials (valid until {self.expiration.isoformat()})")
            except Exception as exc:  # the current ones stay valid for a while: try again sooner
                self._log.event(f"refreshing the target role's credentials: {exc}", level="warning")
                self._stop.wait(min(60.0, self._interval))

    def _write(self, path: Path, text: str) -> None:
        """Atomically, in a directory only the runner writes: Terraform never reads half a file."""
        temporary = path.with_name(f".{path.name}.new")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        self._share(temporary, 0o440)
        os.replace(temporary, path)

    def _share(self, path: Path, mode: int) -> None:
        """Owned by the runner, readable by the work user's group (only the runner's when not isolated)."""
        if self._work.isolated:
            os.chown(path, os.geteuid(), self._work.gid)
            os.chmod(path, mode)
