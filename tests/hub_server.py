"""An in-memory Hugging Face Hub for tests: the routes the real `huggingface_hub` (2.4) client calls.

Hand-written because no library serves the Hub API offline. Model repos only; clients must run with
HF_HUB_DISABLE_XET=1 (Xet is not served). Every commit is kept: a commit sha stays resolvable after later pushes.

Files reach a commit two ways, as on the Hub. Preupload answers "lfs" for paths matching an LFS pattern of the
branch's .gitattributes (*.bin, *.safetensors at creation) or larger than 10 MiB, else "regular". Regular files
travel inline (base64) in the commit NDJSON. LFS files take the git-lfs batch protocol: POST
/{repo}.git/info/lfs/objects/batch returns, per object not yet stored, an upload action whose href is a PUT on
this server (unauthenticated, like a presigned URL, but only for announced oids); the PUT stores the bytes by
sha256 (no verify action: the client does not need one) and the commit's `lfsFile` lines attach them by oid.
Commits keep real bytes either way (`files()`); LFS files are served like the Hub's: /resolve answers 200 with the
bytes, ETag = git id of the lfs pointer, X-Linked-Etag = sha256, X-Linked-Size; tree and siblings carry `lfs`.

    with HubServer(tokens={"hf_w": Token("write", "alice", ("org",))}) as hub:
        ...  # HF_ENDPOINT must equal hub.url before huggingface_hub is imported
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

GITATTRIBUTES = b"*.bin filter=lfs diff=lfs merge=lfs -text\n*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(\n|\Z)", re.DOTALL)
LFS_THRESHOLD = 10 * 1024 * 1024  # larger files go through LFS whatever .gitattributes says
LFS_JSON = "application/vnd.git-lfs+json"


def git_hash(data: bytes) -> str:
    """The git blob id of `data`: the Hub's ETag and tree `oid` of a regular file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    """The git-lfs pointer file git stores in place of an LFS file (its git blob id is the file's tree `oid`)."""
    return b"version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (
        hashlib.sha256(data).hexdigest().encode(),
        len(data),
    )


def _lfs_tracked(path: str, gitattributes: bytes) -> bool:
    """Whether a `filter=lfs` line of .gitattributes matches `path` (a pattern without "/" matches the basename)."""
    for line in gitattributes.decode("utf-8", "replace").splitlines():
        pattern, *attributes = line.split() or ["#"]
        if pattern.startswith("#") or "filter=lfs" not in attributes:
            continue
        if fnmatch.fnmatchcase(path if "/" in pattern else path.rsplit("/", 1)[-1], pattern.lstrip("/")):
            return True
    return False


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _flag(query: dict, name: str) -> bool:
    return query.get(name, [""])[0].lower() in ("1", "true")


@dataclass(frozen=True)
class Token:
    """A token's role ("read" or "write"), its user and the organisations it belongs to.

    A write token may write in its user's namespace and its organisations; any token reads private repos there.
    """

    role: str
    user: str
    namespaces: tuple[str, ...] = ()

    def member_of(self, namespace: str) -> bool:
        return namespace in (self.user, *self.namespaces)


@dataclass
class Commit:
    oid: str
    title: str
    message: str
    parent: str | None
    files: dict[str, bytes]
    author: str
    date: str = field(default_factory=_now)
    lfs: frozenset[str] = frozenset()  # paths stored through LFS

    def blob(self, path: str) -> tuple[str, dict | None]:
        """A file's git blob id and, for an LFS file, its `lfs` info: sha256 `oid`, `size`, `pointerSize`."""
        data = self.files[path]
        if path not in self.lfs:
            return git_hash(data), None
        pointer = lfs_pointer(data)
        return git_hash(pointer), {
            "oid": hashlib.sha256(data).hexdigest(),
            "size": len(data),
            "pointerSize": len(pointer),
        }


@dataclass
class Repo:
    repo_id: str
    private: bool
    commits: dict[str, Commit] = field(default_factory=dict)  # oid -> commit, oldest first
    branches: dict[str, str] = field(default_factory=dict)  # name (or "refs/pr/N") -> oid
    tags: dict[str, str] = field(default_factory=dict)
    created_at: str = field(default_factory=_now)
    pull_requests: int = 0
    lfs_objects: dict[str, bytes] = field(default_factory=dict)  # sha256 -> bytes, stored by the LFS PUT
    lfs_pending: dict[str, int] = field(default_factory=dict)  # sha256 -> size, announced by a batch call


class HubError(Exception):
    """An error answer: status, message (X-Error-Message header and JSON `error`), X-Error-Code, extras."""

    def __init__(self, status: int, message: str, code: str | None = None, headers: dict | None = None, **body):
        super().__init__(message)
        self.status, self.message, self.code, self.headers, self.body = status, message, code, headers or {}, body


def _card_data(readme: bytes | None) -> dict | None:
    match = _FRONT_MATTER.match(readme.decode("utf-8", "replace")) if readme else None
    try:
        data = yaml.safe_load(match.group(1)) if match else None
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


class HubServer:
    """The server: `start()`/`stop()` or a context manager; `url` is what HF_ENDPOINT must be.

    `tokens` maps a token string to a `Token` or a `(role, user, namespaces)` tuple. State is in memory behind
    one lock; `requests` logs `(method, raw path)` of every request and `unhandled` those no route answered
    (they get a 404 naming the route, so a client call this server lacks is easy to spot).
    """

    def __init__(self, port: int = 0, tokens: dict[str, Token | tuple] | None = None, host: str = "127.0.0.1"):
        tokens = tokens or {}
        self.tokens = {k: t if isinstance(t, Token) else Token(t[0], t[1], tuple(t[2])) for k, t in tokens.items()}
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.unhandled: list[tuple[str, str]] = []
        self.lock = threading.RLock()
        self._address = (host, port)
        self._httpd: ThreadingHTTPServer | None = None
        self._counter = 0

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2] if self._httpd else self._address
        return f"http://{host}:{port}"

    def start(self) -> HubServer:
        self._httpd = ThreadingHTTPServer(self._address, type("Handler", (_Handler,), {"hub": self}))
        self._httpd.daemon_threads, self._httpd.block_on_close = True, False
        threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for tests ---------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every repo and logged request."""
        with self.lock:
            self.repos.clear()
            self.requests.clear()
            self.unhandled.clear()

    def has_repo(self, repo_id: str) -> bool:
        with self.lock:
            return repo_id in self.repos

    def commits(self, repo_id: str) -> list[Commit]:
        """Every commit of the repo on any branch, oldest first (the first one is the repo's creation)."""
        with self.lock:
            return list(self.repos[repo_id].commits.values())

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """Path -> content of the repo at a branch, tag or commit sha."""
        with self.lock:
            return dict(self.resolve(self.repos[repo_id], revision).files)

    def downloads(self, repo_id: str) -> list[str]:
        """Paths of the repo's files served by GET /resolve (HEAD calls not counted), in request order."""
        prefix = f"/{repo_id}/resolve/"
        with self.lock:
            paths = [p.split("?")[0][len(prefix) :] for m, p in self.requests if m == "GET" and p.startswith(prefix)]
        return [unquote(p.split("/", 1)[1]) for p in paths]

    # -- state (callers hold the lock) ---------------------------------------------------------------------
    def resolve(self, repo: Repo, revision: str) -> Commit:
        rev = revision.removeprefix("refs/heads/").removeprefix("refs/tags/")
        oid = repo.branches.get(rev) or repo.tags.get(rev) or (rev if rev in repo.commits else None)
        if oid is None:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        return repo.commits[oid]

    def add_commit(
        self,
        repo: Repo,
        parent: str | None,
        files: dict,
        title: str,
        message: str,
        author: str,
        lfs: frozenset[str] = frozenset(),
    ) -> Commit:
        self._counter += 1
        content = ",".join(f"{p}:{git_hash(d)}" for p, d in files.items())
        seed = f"{repo.repo_id}|{parent}|{title}|{self._counter}|{content}"
        commit = Commit(hashlib.sha1(seed.encode()).hexdigest(), title, message, parent, files, author, lfs=lfs)
        repo.commits[commit.oid] = commit
        return commit


class _Handler(BaseHTTPRequestHandler):
    """One request: parse, authenticate, route under the hub's lock, answer JSON (or file bytes)."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connection pool expects
    hub: HubServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        split = urlsplit(self.path)  # split on "/" before unquoting: revisions arrive as "refs%2Fpr%2F1"
        segs, query = [unquote(s) for s in split.path.split("/")[1:]], parse_qs(split.query)
        status, headers = 200, {"Content-Type": "application/json"}
        try:
            with self.hub.lock:
                self.hub.requests.append((method, self.path))
                result = self._route(method, segs, query, body)
            if isinstance(result, tuple):  # a file: (bytes, headers)
                data, extra = result
                headers.update(extra)
            else:
                data = json.dumps(result).encode()
        except HubError as err:
            status, data = err.status, json.dumps({"error": err.message, **err.body}).encode()
            headers.update({"X-Error-Message": err.message.encode("ascii", "replace").decode(), **err.headers})
            if err.code:
                headers["X-Error-Code"] = err.code
        self.send_response(status)
        for key, value in {**headers, "Content-Length": str(len(data))}.items():
            self.send_header(key, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)

    # -- authentication ------------------------------------------------------------------------------------
    def _token(self) -> Token | None:
        header = self.headers.get("Authorization")
        if not header:
            return None
        token = self.hub.tokens.get(header.removeprefix("Bearer").strip())
        if token is None:  # this exact message makes the client say "bad token", not "repo not found"
            raise HubError(401, "Invalid credentials in Authorization header")
        return token

    def _repo(self, repo_id: str, token: Token | None) -> Repo:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            raise HubError(404, "Repository not found", "RepoNotFound")
        if repo.private and not (token and token.member_of(repo_id.split("/")[0])):
            raise HubError(401 if token is None else 404, "Repository not found", "RepoNotFound")
        return repo

    @staticmethod
    def _check_write(token: Token | None, namespace: str, action: str) -> Token:
        if token is None:
            raise HubError(401, f"Authentication required to {action}: no token was sent")
        if token.role != "write":
            raise HubError(403, f"You don't have the rights to {action}: this token is read-only")
        if not token.member_of(namespace):  # the Hub answers the same for a namespace that does not exist
            raise HubError(403, f'You don\'t have the rights to {action} under the namespace "{namespace}"')
        return token

    # -- routes --------------------------------------------------------------------------------------------
    def _route(self, method: str, segs: list[str], query: dict, body: bytes) -> Any:
        token = self._token()
        match (method, segs):
            case ("GET", ["api", "whoami-v2"]):
                if token is None:
                    raise HubError(401, "Invalid username or password.")
                orgs = [
                    {"type": "org", "name": ns, "roleInOrg": token.role} for ns in token.namespaces if ns != token.user
                ]
                access = {"displayName": f"{token.role} token", "role": token.role}
                auth = {"type": "access_token", "accessToken": access}
                return {"type": "user", "id": token.user, "name": token.user, "orgs": orgs, "auth": auth}
            case ("POST", ["api", "validate-yaml"]):
                front = _FRONT_MATTER.match(json.loads(body).get("content", ""))
                try:
                    yaml.safe_load(front.group(1) if front else "")
                except yaml.YAMLError as err:
                    raise HubError(400, "Invalid YAML metadata", errors=[{"message": str(err)}]) from None
                return {"errors": [], "warnings": []}
            case ("POST", ["api", "repos", "create"]):
                return self._create_repo(json.loads(body), token)
            case ("DELETE", ["api", "repos", "delete"]):
                payload = json.loads(body)
                namespace = payload.get("organization") or (token.user if token else "")
                repo_id = f"{namespace}/{payload['name']}"
                self._repo(repo_id, token)
                self._check_write(token, namespace, "delete a model")
                del self.hub.repos[repo_id]
                return {}
            case ("GET" | "HEAD", [ns, name, "resolve", rev, *path]) if path:
                commit, path = self.hub.resolve(self._repo(f"{ns}/{name}", token), rev), "/".join(path)
                if path not in commit.files:
                    raise HubError(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": commit.oid})
                oid, lfs = commit.blob(path)
                headers = {"Content-Type": "application/octet-stream", "X-Repo-Commit": commit.oid, "ETag": f'"{oid}"'}
                if lfs:  # the client names the cached blob after X-Linked-Etag
                    headers.update({"X-Linked-Etag": f'"{lfs["oid"]}"', "X-Linked-Size": str(lfs["size"])})
                return commit.files[path], headers
            case ("POST", [ns, name, "info", "lfs", "objects", "batch"]) if name.endswith(".git"):
                if LFS_JSON not in self.headers.get("Accept", ""):
                    raise HubError(406, f"The LFS batch API needs the header Accept: {LFS_JSON}")
                repo = self._repo(f"{ns}/{name.removesuffix('.git')}", token)
                self._check_write(token, ns, "upload LFS files to this repo")
                return json.dumps(self._lfs_batch(repo, json.loads(body))).encode(), {"Content-Type": LFS_JSON}
            case ("PUT", [ns, name, "info", "lfs", "objects", oid]) if name.endswith(".git"):
                return self._lfs_put(self.hub.repos.get(f"{ns}/{name.removesuffix('.git')}"), oid, body)
            case (_, ["api", "models", ns, name, *rest]):
                return self._repo_route(method, self._repo(f"{ns}/{name}", token), rest, query, body, token)
        self.hub.unhandled.append((method, self.path))
        raise HubError(404, f"hub_server: no route for {method} {self.path}")

    def _repo_route(self, method: str, repo: Repo, rest: list, query: dict, body: bytes, token: Token | None):
        hub, namespace = self.hub, repo.repo_id.split("/")[0]
        match (method, rest):
            case ("GET", []):
                return self._info(repo, hub.resolve(repo, "main"), query)
            case ("GET", ["revision", rev]):
                return self._info(repo, hub.resolve(repo, rev), query)
            case ("GET", ["tree", rev, *path]):
                return self._tree(hub.resolve(repo, rev), "/".join(path), _flag(query, "recursive"))
            case ("GET", ["refs"]):
                names = [n for n in repo.branches if not n.startswith("refs/")]
                branches = [{"name": n, "ref": f"refs/heads/{n}", "targetCommit": repo.branches[n]} for n in names]
                tags = [{"name": n, "ref": f"refs/tags/{n}", "targetCommit": o} for n, o in repo.tags.items()]
                prs = [{"name": n, "ref": n, "targetCommit": o} for n, o in repo.branches.items() if n not in names]
                return {"branches": branches, "tags": tags, "converts": [], "pullRequests": prs}
            case ("GET", ["commits", rev]):
                commit, history = hub.resolve(repo, rev), []
                while commit is not None:
                    authors = [{"user": commit.author}]
                    history.append(
                        {
                            "id": commit.oid,
                            "title": commit.title,
                            "message": commit.message,
                            "date": commit.date,
                            "authors": authors,
                        }
                    )
                    commit = repo.commits.get(commit.parent) if commit.parent else None
                return history
            case ("POST", ["preupload", rev]):
                self._check_write(token, namespace, "write to this repo")
                head = self._branch_head(repo, rev)
                attributes, answers = head.files.get(".gitattributes", b""), []
                for f in json.loads(body)["files"]:
                    lfs = f["size"] > LFS_THRESHOLD or _lfs_tracked(f["path"], attributes)
                    oid, info = head.blob(f["path"]) if f["path"] in head.files else (None, None)
                    answers.append(
                        {
                            "path": f["path"],
                            "uploadMode": "lfs" if lfs else "regular",
                            # the remote "oid" (sha256 for an LFS file) lets the client skip unchanged files
                            "shouldIgnore": False,
                            "oid": info["oid"] if info else oid,
                        }
                    )
                return {"files": answers}
            case ("POST", ["commit", branch]):
                token = self._check_write(token, namespace, "write to this repo")
                return self._commit(repo, branch, body, token, _flag(query, "create_pr"))
            case ("POST", ["branch", branch]):
                self._check_write(token, namespace, "create a branch")
                if branch in repo.branches:
                    raise HubError(409, f"Branch {branch} already exists")
                repo.branches[branch] = hub.resolve(repo, json.loads(body or b"{}").get("startingPoint", "main")).oid
                return {"success": True}
            case ("POST", ["tag", rev]):
                self._check_write(token, namespace, "create a tag")
                tag = json.loads(body)["tag"]
                if tag in repo.tags:
                    raise HubError(409, f"Tag {tag} already exists")
                repo.tags[tag] = hub.resolve(repo, rev).oid
                return {"success": True}
        hub.unhandled.append((method, self.path))
        raise HubError(404, f"hub_server: no route for {method} {self.path}")

    def _create_repo(self, payload: dict, token: Token | None) -> dict:
        if payload.get("type", "model") != "model":
            raise HubError(400, "hub_server serves model repos only")
        namespace = payload.get("organization") or (token.user if token else "")
        token = self._check_write(token, namespace, "create a model")
        repo_id = f"{namespace}/{payload['name']}"
        url = f"{self.hub.url}/{repo_id}"
        if repo_id in self.hub.repos:  # the client's exist_ok path reads "url" from this 409
            raise HubError(409, "You already created this model repo", url=url)
        repo = self.hub.repos[repo_id] = Repo(repo_id, private=payload.get("visibility") == "private")
        first = self.hub.add_commit(repo, None, {".gitattributes": GITATTRIBUTES}, "initial commit", "", token.user)
        repo.branches["main"] = first.oid
        return {"url": url, "name": repo_id, "id": repo_id}

    def _lfs_batch(self, repo: Repo, payload: dict) -> dict:
        if payload.get("operation") != "upload" or payload.get("hash_algo", "sha256") != "sha256":
            raise HubError(400, "hub_server's LFS batch API serves sha256 uploads only (downloads go through /resolve)")
        if "basic" not in payload.get("transfers", ["basic"]):
            raise HubError(400, "hub_server's LFS batch API offers the 'basic' transfer only")
        objects = []
        for obj in payload.get("objects", []):
            oid, size = obj.get("oid"), obj.get("size")
            if not (isinstance(oid, str) and re.fullmatch(r"[0-9a-f]{64}", oid) and isinstance(size, int)):
                objects.append(
                    {
                        "oid": str(oid),
                        "size": size if isinstance(size, int) else 0,
                        "error": {"code": 422, "message": "oid must be a sha256 hex digest and size an int"},
                    }
                )
            elif oid in repo.lfs_objects:  # already stored: no actions, the client skips the upload
                objects.append({"oid": oid, "size": size})
            else:
                repo.lfs_pending[oid] = size
                href = f"{self.hub.url}/{repo.repo_id}.git/info/lfs/objects/{oid}"
                objects.append({"oid": oid, "size": size, "authenticated": True, "actions": {"upload": {"href": href}}})
        return {"transfer": "basic", "objects": objects, "hash_algo": "sha256"}

    @staticmethod
    def _lfs_put(repo: Repo | None, oid: str, body: bytes) -> tuple[bytes, dict]:
        if repo is None or oid not in repo.lfs_pending:
            raise HubError(403, f"No LFS upload of {oid} was announced to the batch API")
        if len(body) != repo.lfs_pending[oid] or hashlib.sha256(body).hexdigest() != oid:
            raise HubError(400, f"The uploaded bytes do not match the announced sha256 {oid} and size")
        repo.lfs_objects[oid] = body
        del repo.lfs_pending[oid]
        return b"", {}

    @staticmethod
    def _branch_head(repo: Repo, branch: str) -> Commit:
        if branch not in repo.branches:  # commits go to a branch, never to a tag or a bare sha
            raise HubError(404, f"Invalid rev id: {branch} is not a branch", "RevisionNotFound")
        return repo.commits[repo.branches[branch]]

    def _commit(self, repo: Repo, branch: str, body: bytes, token: Token, create_pr: bool) -> dict:
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "The commit payload must start with a header line")
        header, parent = lines[0]["value"], self._branch_head(repo, branch)
        if header.get("parentCommit") and not parent.oid.startswith(header["parentCommit"]):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files, lfs = dict(parent.files), set(parent.lfs)
        for line in lines[1:]:
            key, value = line["key"], line["value"]
            path = value["path"].strip("/")
            if key == "file":
                raw = value["content"]
                files[path] = base64.b64decode(raw) if value.get("encoding") == "base64" else raw.encode()
                lfs.discard(path)
            elif key == "lfsFile":
                data = repo.lfs_objects.get(value["oid"]) if value.get("algo", "sha256") == "sha256" else None
                if data is None or value.get("size", len(data)) != len(data):
                    raise HubError(422, f"LFS object {value['oid']} of {path} was never uploaded (or has another size)")
                files[path] = data
                lfs.add(path)
            elif key == "deletedFile" and path in files:
                del files[path]
            elif key == "deletedFolder" and any(p.startswith(path + "/") for p in files):
                files = {p: d for p, d in files.items() if not p.startswith(path + "/")}
            elif key in ("deletedFile", "deletedFolder"):
                raise HubError(404, f"{path} does not exist on {branch}", "EntryNotFound")
            else:
                raise HubError(400, f"hub_server stores regular and LFS files only, not '{key}'")
        commit = self.hub.add_commit(
            repo,
            parent.oid,
            files,
            header["summary"],
            header.get("description", ""),
            token.user,
            frozenset(lfs & files.keys()),
        )
        pr_url = None
        if create_pr:
            repo.pull_requests += 1
            repo.branches[f"refs/pr/{repo.pull_requests}"] = commit.oid
            pr_url = f"{self.hub.url}/{repo.repo_id}/discussions/{repo.pull_requests}"
        else:
            repo.branches[branch] = commit.oid
        commit_url = f"{self.hub.url}/{repo.repo_id}/commit/{commit.oid}"
        return {"success": True, "commitOid": commit.oid, "commitUrl": commit_url, "pullRequestUrl": pr_url}

    @staticmethod
    def _info(repo: Repo, commit: Commit, query: dict) -> dict:
        card, blobs = _card_data(commit.files.get("README.md")) or {}, _flag(query, "blobs")
        siblings = [{"rfilename": p} for p in sorted(commit.files)]
        for sibling in siblings if blobs else ():
            oid, lfs = commit.blob(sibling["rfilename"])
            sibling.update({"size": len(commit.files[sibling["rfilename"]]), "blobId": oid})
            if lfs:
                sibling["lfs"] = {"sha256": lfs["oid"], "size": lfs["size"], "pointerSize": lfs["pointerSize"]}
        tags = card.get("tags") or []
        return {
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": commit.oid,
            "lastModified": commit.date,
            "createdAt": repo.created_at,
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": tags if isinstance(tags, list) else [tags],
            "library_name": card.get("library_name"),
            "pipeline_tag": card.get("pipeline_tag"),
            "cardData": card or None,
            "siblings": siblings,
        }

    @staticmethod
    def _tree(commit: Commit, path: str, recursive: bool) -> list[dict]:
        prefix = path.strip("/") + "/" if path.strip("/") else ""
        entries: dict[str, dict] = {}
        for file, data in sorted(commit.files.items()):
            if not file.startswith(prefix):
                continue
            parts = file[len(prefix) :].split("/")
            for depth in range(1, len(parts) if recursive else min(len(parts), 2)):
                folder = prefix + "/".join(parts[:depth])
                oid = hashlib.sha1(f"{commit.oid}:{folder}".encode()).hexdigest()
                entries[folder] = {"type": "directory", "oid": oid, "size": 0, "path": folder}
            if recursive or len(parts) == 1:
                oid, lfs = commit.blob(file)
                entries[file] = {"type": "file", "oid": oid, "size": len(data), "path": file}
                if lfs:
                    entries[file]["lfs"] = lfs
        if prefix and not entries:
            raise HubError(404, f"{path} does not exist", "EntryNotFound", {"X-Repo-Commit": commit.oid})
        return list(entries.values())
