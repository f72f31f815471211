"""Publish a finished run to a Hugging Face Hub dataset repository, as one commit.

The repository is created when missing (private unless the config says otherwise; an existing public
repository is refused when the config asks for a private one), the branch named by ``revision`` is
created when missing, and the run goes in as ONE commit made with ``HfApi.create_commit``: the Hub
only ever shows complete runs, and the commit message names the run (manifest name, start time,
counts). Files that an earlier publish left under the published paths and that this run does not
have (a shard of a bigger run, a ledger no longer included) are deleted in the same commit, so the
repository holds this run and nothing else. An interrupted ``create_commit`` changes nothing on the
Hub; re-running it uploads again only what the Hub's Xet storage does not already hold, and files
the Hub holds unchanged are left out of the commit (re-publishing the same run makes no new commit).

One commit has server limits (about 25,000 LFS files, 1 GB of inline content), and a very large
upload is better committed piecewise so that an interruption loses little. Above
``ONE_COMMIT_MAX_FILES`` files or ``ONE_COMMIT_MAX_BYTES`` bytes the run therefore goes through
``HfApi.upload_folder``, which in huggingface_hub 2.x (with ``hf_xet``) is the resumable batched
upload that ``upload_large_folder`` was before: it commits adaptive batches (follow-up commits get a
`` (part N)`` suffix) and resumes by re-running, the same patterns choosing the files. Until its last
batch is committed such a branch shows part of the run: publish very large runs to a ``revision``.

The token comes from the environment variable named by ``token_env``; it is never logged, and every
error is reduced to one line with ``hf_...`` tokens and the token itself redacted.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import quote

from huggingface_hub import CommitInfo, CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import HfHubHTTPError

from pipelines.publish import FinishedRun, PublishError, PublishResult, is_managed, publish_patterns
from schemas.config import HubPublish

log = logging.getLogger("jaif.publish")

REPO_TYPE = "dataset"
DEFAULT_REVISION = "main"
ONE_COMMIT_MAX_FILES = 10_000
ONE_COMMIT_MAX_BYTES = 100 * 2**30
_HF_TOKEN = re.compile(r"hf_[A-Za-z0-9]{8,}")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")


def redact(text: str, token: str | None) -> str:
    """``text`` without the token, any ``hf_...`` token or bearer credential."""
    if token:
        text = text.replace(token, "[redacted]")
    return _BEARER.sub(r"\1[redacted]", _HF_TOKEN.sub("[redacted]", text))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        detail = exc.server_message or str(exc).strip().splitlines()[0]
        return f"HTTP {exc.response.status_code}: {detail}"
    return f"{type(exc).__name__}: {exc}"


class HubPublisher:
    """``publish(run)``: the run's files as one commit on ``repo_id`` at ``revision``."""

    def __init__(
        self,
        settings: HubPublish,
        one_commit_max_files: int = ONE_COMMIT_MAX_FILES,
        one_commit_max_bytes: int = ONE_COMMIT_MAX_BYTES,
    ) -> None:
        self.settings = settings
        self.one_commit_max_files = one_commit_max_files
        self.one_commit_max_bytes = one_commit_max_bytes

    @property
    def revision(self) -> str:
        return self.settings.revision or DEFAULT_REVISION

    @property
    def target(self) -> str:
        return f"{self.settings.repo_id}@{self.revision}"

    def publish(self, run: FinishedRun) -> PublishResult:
        token = self._token()
        try:
            api = HfApi(endpoint=self.settings.endpoint, token=token, library_name="jaif-datasets")
            self._prepare_repository(api)
            commit = self._commit(api, run)
        except PublishError:
            raise
        except Exception as exc:
            message = " ".join(redact(_reason(exc), token).split())[:400]
            raise PublishError(f"publish: hub {self.target}: {message}") from None
        return PublishResult(
            kind="hub",
            target=self.target,
            files=len(run.files),
            bytes=run.bytes,
            commit=commit.oid,
            url=self._browse_url(api),
        )

    def _token(self) -> str:
        token = os.environ.get(self.settings.token_env)
        if not token:
            raise PublishError(f"publish: environment variable {self.settings.token_env} is not set")
        return token

    def _prepare_repository(self, api: HfApi) -> None:
        repo_id = self.settings.repo_id
        api.create_repo(repo_id, repo_type=REPO_TYPE, private=self.settings.private, exist_ok=True)
        if self.settings.private and api.repo_info(repo_id, repo_type=REPO_TYPE).private is False:
            raise PublishError(
                f"publish: hub dataset {repo_id} exists and is public, the config asks for a private one: "
                "make it private on the Hub or set publish.private: false"
            )
        if self.settings.revision:
            api.create_branch(repo_id, branch=self.settings.revision, repo_type=REPO_TYPE, exist_ok=True)

    def _fits_one_commit(self, run: FinishedRun) -> bool:
        return len(run.files) <= self.one_commit_max_files and run.bytes <= self.one_commit_max_bytes

    def _commit(self, api: HfApi, run: FinishedRun) -> CommitInfo:
        if self._fits_one_commit(run):
            return self._one_commit(api, run)
        log.info("hub %s: %d files, %d bytes: committing in batches", self.target, len(run.files), run.bytes)
        return self._batched_commits(api, run)

    def _stale_paths(self, api: HfApi, run: FinishedRun) -> list[str]:
        """Files of an earlier publish at the target that this run does not have."""
        published = {run.relative(path) for path in run.files}
        present = api.list_repo_files(self.settings.repo_id, repo_type=REPO_TYPE, revision=self.revision)
        return sorted(path for path in present if is_managed(path) and path not in published)

    def _one_commit(self, api: HfApi, run: FinishedRun) -> CommitInfo:
        deletions = [CommitOperationDelete(path_in_repo=path) for path in self._stale_paths(api, run)]
        additions = [
            CommitOperationAdd(path_in_repo=run.relative(path), path_or_fileobj=path) for path in run.files
        ]
        return api.create_commit(
            self.settings.repo_id,
            operations=[*deletions, *additions],
            commit_message=run.title(),
            commit_description=run.description(),
            repo_type=REPO_TYPE,
            revision=self.revision,
        )

    def _batched_commits(self, api: HfApi, run: FinishedRun) -> CommitInfo:
        allow, ignore = publish_patterns(self.settings.include_ledger)
        managed, _ = publish_patterns(include_ledger=True)
        return api.upload_folder(
            repo_id=self.settings.repo_id,
            folder_path=run.out,
            repo_type=REPO_TYPE,
            revision=self.revision,
            commit_message=run.title(),
            commit_description=run.description(),
            allow_patterns=list(allow),
            ignore_patterns=list(ignore),
            delete_patterns=list(managed),
        )

    def _browse_url(self, api: HfApi) -> str:
        url = f"{api.endpoint}/datasets/{self.settings.repo_id}"
        return f"{url}/tree/{quote(self.settings.revision, safe='')}" if self.settings.revision else url
