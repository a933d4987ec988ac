"""A fake Reddit API on 127.0.0.1: access tokens, subreddit listings, search, comment replies, user history."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.api_fake import Answer, ApiFake, Seen

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reddit"
OUR_NAME = "siteforge_help"
RATE_HEADERS = {"x-ratelimit-remaining": "599.0", "x-ratelimit-used": "1", "x-ratelimit-reset": "300"}


def _recorded(name: str, path_part: str) -> dict[str, Any]:
    """The body of the first recorded response whose URI contains `path_part`."""
    for item in json.loads((FIXTURES / name).read_text(encoding="utf-8")):
        if path_part in item["request"]["uri"]:
            return dict(item["response"]["body"])
    raise KeyError(path_part)


class RedditFake(ApiFake):
    """Submissions and comments in memory, listed newest first with `after` paging; counts created replies."""

    def __init__(self, page_size: int = 100, client_id: str = "test-client_id", password: str = "test-password"):
        super().__init__()
        self.page_size = page_size
        self.client_id = client_id
        self.password = password
        self.things: dict[str, dict[str, Any]] = {}  # fullname -> data
        self.order: list[str] = []  # fullnames, oldest first
        self.created: list[dict[str, Any]] = []
        self.clock = 1_700_000_000.0
        self.seq = 0
        self.tokens_issued = 0
        self._submission_template = _recorded("TestSubredditListings.test_new.json", "/new")["data"]["children"][0]
        self._comment_template = _recorded("TestSubredditListings.test_comments.json", "/comments")["data"][
            "children"][0]
        self._reply_template = _recorded("TestSubmission.test_reply.json", "api/comment")

    # -- the world --------------------------------------------------------------------------------------------

    def _add(self, kind: str, template: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.seq += 1
            self.clock += 61  # a minute apart: listings reach back past the 5-minute overlap
            data = copy.deepcopy(template["data"])
            data.update(id=f"x{self.seq:05d}", created_utc=self.clock, created=self.clock, score=1)
            data.update(fields)
            data["name"] = f"{kind}_{data['id']}"
            self.things[data["name"]] = data
            self.order.append(data["name"])
            return data

    def add_submission(self, subreddit: str, title: str, selftext: str = "", author: str = "asker") -> dict[str, Any]:
        """Add a self post."""
        data = self._add("t3", self._submission_template, {
            "subreddit": subreddit, "title": title, "selftext": selftext, "author": author, "num_comments": 0})
        data["permalink"] = f"/r/{subreddit}/comments/{data['id']}/post/"
        return data

    def add_comment(self, parent: str, body: str, author: str = "commenter") -> dict[str, Any]:
        """Add a comment under a submission or comment (by fullname)."""
        with self.lock:
            up = self.things[parent]
            link_id = parent if parent.startswith("t3_") else up["link_id"]
            sub = up["subreddit"]
            data = self._add("t1", self._comment_template, {
                "subreddit": sub, "body": body, "author": author, "parent_id": parent, "link_id": link_id,
                "link_title": self.things[link_id]["title"], "replies": ""})
            data["permalink"] = f"/r/{sub}/comments/{link_id[3:]}/post/{data['id']}/"
            self.things[link_id]["num_comments"] = self.things[link_id].get("num_comments", 0) + 1
            return data

    def load_recorded(self, subreddit: str, submissions: int = 20, comments: int = 40) -> list[dict[str, Any]]:
        """Add recorded praw-cassette submissions and comments (re-homed in `subreddit`, fresh ids and times)."""
        subs = _recorded("TestSubredditListings.test_new.json", "/new")["data"]["children"][:submissions]
        coms = _recorded("TestSubredditListings.test_comments.json", "/comments")["data"]["children"][:comments]
        added = [self.add_submission(subreddit, c["data"]["title"], c["data"].get("selftext") or "",
                                     author=c["data"].get("author") or "[deleted]") for c in subs]
        for i, c in enumerate(coms):
            added.append(self.add_comment(added[i % len(subs)]["name"], c["data"]["body"],
                                          author=c["data"].get("author") or "[deleted]"))
        return added

    # -- the API ----------------------------------------------------------------------------------------------

    def empty(self, seen: Seen) -> Any:
        """An empty listing."""
        return {"kind": "Listing", "data": {"children": [], "after": None, "before": None, "modhash": ""}}

    def answer(self, seen: Seen) -> Answer:
        """Route one request."""
        form = {k: v[-1] for k, v in parse_qs(seen.body.decode()).items()} if seen.body else {}
        with self.lock:
            if seen.path == "/api/v1/access_token" and seen.method == "POST":
                return self._token(form)
            if seen.method == "POST" and seen.path == "/api/comment":
                return self._reply(form)
            match = re.fullmatch(r"/r/([\w+]+)/(new|comments|search)", seen.path)
            if seen.method == "GET" and match:
                subs = {s.lower() for s in match.group(1).split("+")}
                kind = {"new": "t3", "comments": "t1", "search": "t3"}[match.group(2)]
                items = [n for n in self.order if n.startswith(kind)
                         and ("all" in subs or self.things[n]["subreddit"].lower() in subs)]
                if match.group(2) == "search":
                    term = seen.query.get("q", "").lower()
                    items = [n for n in items if term in (self.things[n]["title"] + " "
                                                          + self.things[n]["selftext"]).lower()]
                return self._listing(items, seen.query)
            match = re.fullmatch(r"/user/(\w+)/comments", seen.path)
            if seen.method == "GET" and match:
                name = match.group(1).lower()
                return self._listing([n for n in self.order if n.startswith("t1")
                                      and str(self.things[n]["author"]).lower() == name], seen.query)
            if seen.method == "GET" and seen.path == "/api/info":
                names = [n for n in seen.query.get("id", "").split(",") if n in self.things]
                return self._listing(list(reversed(names)), {"limit": "100"})
        return Answer(404, {"message": "Not Found", "error": 404})

    def _token(self, form: dict[str, str]) -> Answer:
        if form.get("grant_type") == "password" and form.get("password") != self.password:
            return Answer(200, {"error": "invalid_grant"})
        self.tokens_issued += 1
        return Answer(200, {"access_token": f"token-{self.tokens_issued}", "token_type": "bearer",
                            "expires_in": 3600, "scope": "*"})

    def _listing(self, names: list[str], query: dict[str, str]) -> Answer:
        newest_first = list(reversed(names))
        after = query.get("after")
        if after:
            newest_first = newest_first[newest_first.index(after) + 1:] if after in newest_first else []
        size = min(int(query.get("limit") or 25), self.page_size)
        page = newest_first[:size]
        more = len(newest_first) > size
        children = [{"kind": n[:2], "data": copy.deepcopy(self.things[n])} for n in page]
        body = {"kind": "Listing", "data": {"children": children, "after": page[-1] if more and page else None,
                                            "before": None, "modhash": ""}}
        return Answer(200, body, dict(RATE_HEADERS))

    def _reply(self, form: dict[str, str]) -> Answer:
        parent = form.get("thing_id", "")
        if parent not in self.things:
            return Answer(200, {"json": {"errors": [["DELETED_COMMENT", "that comment has been deleted",
                                                      "parent"]]}})
        data = self.add_comment(parent, form.get("text", ""), author=OUR_NAME)
        self.created.append(data)
        body = copy.deepcopy(self._reply_template)
        body["json"]["data"]["things"] = [{"kind": "t1", "data": copy.deepcopy(data)}]
        return Answer(200, body, dict(RATE_HEADERS))
