"""The loopback Hub answers the real huggingface_hub client, over HTTP, the way the Hub does.

The push/load tests rely on these behaviours, so each is pinned here against the client itself.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

README = "---\nlanguage: ca\ntags:\n- sentence-transformers\nlibrary_name: sentence-transformers\n---\n# Card\n"
FILES = {
    "README.md": README.encode(),
    "config.json": b'{"hidden_size": 384}',
    "model.safetensors": bytes(range(256)) * 8,
    "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
}


@pytest.fixture
def api(hub_server) -> HfApi:
    return HfApi(token="hf_test_write")


@pytest.fixture
def repo_id(request) -> str:
    return f"org/{request.node.name.replace('_', '-')}"


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def pushed(api, repo_id, tmp_path) -> str:
    """A repo holding FILES in one commit on top of the creation commit; returns that commit's sha."""
    api.create_repo(repo_id)
    return api.upload_folder(folder_path=write_folder(tmp_path / "model", FILES), repo_id=repo_id).oid


def test_create_repo_twice_conflicts_unless_exist_ok(api, repo_id, hub_server):
    url = api.create_repo(repo_id)
    assert url.repo_id == repo_id and url.startswith(hub_server.url)
    with pytest.raises(HfHubHTTPError) as err:
        api.create_repo(repo_id)
    assert err.value.response.status_code == 409
    assert api.create_repo(repo_id, exist_ok=True) == url
    assert len(hub_server.commits(repo_id)) == 1


def test_upload_folder_lands_every_file_in_one_commit(api, repo_id, pushed, hub_server):
    assert sorted(api.list_repo_files(repo_id)) == sorted([*FILES, ".gitattributes"])
    stored = hub_server.files(repo_id)
    assert stored.pop(".gitattributes") and stored == FILES
    assert [c.oid for c in hub_server.commits(repo_id)][-1] == pushed
    info = api.repo_info(repo_id)
    assert info.sha == pushed
    assert info.card_data.library_name == "sentence-transformers"
    assert Path(hf_hub_download(repo_id, "1_Pooling/config.json")).read_bytes() == FILES["1_Pooling/config.json"]


def test_snapshot_download_fetches_only_allowed_files(repo_id, pushed, hub_server):
    folder = Path(snapshot_download(repo_id, allow_patterns=["*.json", "README.md"]))
    got = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert got == ["1_Pooling/config.json", "README.md", "config.json"]
    assert folder.name == pushed
    assert "model.safetensors" not in hub_server.downloads(repo_id)


def test_unchanged_upload_makes_no_commit(api, repo_id, pushed, hub_server, tmp_path):
    again = api.upload_folder(folder_path=write_folder(tmp_path / "same", FILES), repo_id=repo_id)
    assert again.oid == pushed
    assert len(hub_server.commits(repo_id)) == 2


def test_older_commit_stays_reachable_by_sha(api, repo_id, pushed, tmp_path):
    new_weights = b"changed" * 100
    second = api.upload_file(path_or_fileobj=new_weights, path_in_repo="model.safetensors", repo_id=repo_id).oid
    assert second != pushed
    assert Path(hf_hub_download(repo_id, "model.safetensors")).read_bytes() == new_weights
    old = hf_hub_download(repo_id, "model.safetensors", revision=pushed, local_dir=tmp_path / "old")
    assert Path(old).read_bytes() == FILES["model.safetensors"]
    assert api.repo_info(repo_id, revision=pushed).sha == pushed
    assert [c.commit_id for c in api.list_repo_commits(repo_id)][:2] == [second, pushed]


def test_branch_tag_and_pull_request_revisions(api, repo_id, pushed):
    api.create_tag(repo_id, tag="v1")
    api.create_branch(repo_id, branch="dev")
    api.upload_file(path_or_fileobj=b"dev", path_in_repo="config.json", repo_id=repo_id, revision="dev")
    pr = api.upload_file(path_or_fileobj=b"pr", path_in_repo="config.json", repo_id=repo_id, create_pr=True)
    assert pr.pr_revision == "refs/pr/1"
    read = {
        rev: Path(hf_hub_download(repo_id, "config.json", revision=rev)).read_bytes()
        for rev in ("main", "v1", "dev", "refs/pr/1")
    }
    assert read == {"main": FILES["config.json"], "v1": FILES["config.json"], "dev": b"dev", "refs/pr/1": b"pr"}
    refs = api.list_repo_refs(repo_id, include_pull_requests=True)
    assert {b.name for b in refs.branches} == {"main", "dev"} and [t.target_commit for t in refs.tags] == [pushed]


def test_invalid_readme_metadata_is_refused_before_any_commit(api, repo_id, pushed, hub_server):
    with pytest.raises(ValueError, match="Invalid metadata"):
        api.upload_file(path_or_fileobj=b"---\ntags: [a\n---\n", path_in_repo="README.md", repo_id=repo_id)
    assert hub_server.commits(repo_id)[-1].oid == pushed


def test_missing_repo_revision_and_file_raise_the_clients_errors(api, repo_id, pushed):
    with pytest.raises(RepositoryNotFoundError):
        api.repo_info("org/does-not-exist")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("org/does-not-exist", "config.json")
    with pytest.raises(RevisionNotFoundError):
        hf_hub_download(repo_id, "config.json", revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        api.repo_info(repo_id, revision="0" * 40)
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "pytorch_model.bin")


def test_private_repo_needs_a_token_of_its_namespace(api, hub_server):
    api.create_repo("alice/secret", private=True, exist_ok=True)
    assert api.repo_info("alice/secret").private is True
    for token in (False, "hf_test_read"):
        with pytest.raises(RepositoryNotFoundError):
            HfApi(token=token).repo_info("alice/secret")


def test_bad_or_missing_token_is_401(repo_id, pushed):
    bad = HfApi(token="hf_not_a_token")
    for call in (bad.whoami, lambda: bad.create_repo("org/x"), lambda: bad.repo_info(repo_id)):
        with pytest.raises(HfHubHTTPError) as err:
            call()
        assert err.value.response.status_code == 401
    with pytest.raises(HfHubHTTPError) as err:
        HfApi(token=False).create_repo("org/anonymous")
    assert err.value.response.status_code == 401


def test_read_only_token_and_foreign_namespace_are_403(repo_id, pushed, hub_server):
    reader = HfApi(token="hf_test_read")
    assert reader.whoami()["auth"]["accessToken"]["role"] == "read"
    assert reader.create_repo(repo_id, exist_ok=True).repo_id == repo_id  # the client falls back to repo_info
    for call in (
        lambda: reader.create_repo("bob/new"),
        lambda: reader.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id),
        lambda: HfApi(token="hf_test_write").create_repo("nobody/model"),
    ):
        with pytest.raises(HfHubHTTPError) as err:
            call()
        assert err.value.response.status_code == 403
    assert 'namespace "nobody"' in str(err.value)
    assert hub_server.commits(repo_id)[-1].oid == pushed


def test_whoami_names_user_orgs_and_role(api):
    me = api.whoami()
    assert (me["name"], [o["name"] for o in me["orgs"]]) == ("alice", ["org"])
    assert me["auth"]["accessToken"]["role"] == "write"


def test_safetensors_go_through_lfs_with_progress_and_download_identical(api, repo_id, hub_server, tmp_path, capsys):
    weights = bytes(range(255, -1, -1)) * 40
    sha = hashlib.sha256(weights).hexdigest()
    api.create_repo(repo_id)
    capsys.readouterr()
    api.upload_folder(
        folder_path=write_folder(tmp_path / "m", {"model.safetensors": weights, "config.json": b"{}"}), repo_id=repo_id
    )
    err = capsys.readouterr().err
    assert "model.safetensors" in err and "100%" in err  # huggingface_hub's own LFS upload progress bar
    puts = [p for m, p in hub_server.requests if m == "PUT" and p.startswith(f"/{repo_id}.git/")]
    assert puts == [f"/{repo_id}.git/info/lfs/objects/{sha}"]
    tree = {f.path: f for f in api.list_repo_tree(repo_id)}
    assert (tree["model.safetensors"].lfs.sha256, tree["model.safetensors"].size) == (sha, len(weights))
    assert tree["config.json"].lfs is None
    downloaded = Path(hf_hub_download(repo_id, "model.safetensors"))
    assert downloaded.read_bytes() == weights and downloaded.resolve().name == sha  # cached by X-Linked-Etag
    api.upload_file(path_or_fileobj=weights, path_in_repo="copy.safetensors", repo_id=repo_id)  # stored already
    assert len([p for m, p in hub_server.requests if m == "PUT" and p.startswith(f"/{repo_id}.git/")]) == 1
    assert hub_server.files(repo_id)["copy.safetensors"] == weights
