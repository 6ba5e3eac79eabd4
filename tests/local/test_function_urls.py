"""Function URLs on loopback stay in step with moto, including the moment between the address being
handed out and moto recording it (a sync in that window once took the server away: the URL that
Terraform output and the health check polled then answered nothing)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import requests

from tfpipe.local.function_urls import FunctionUrls


def _answering(name: str, payload: bytes) -> SimpleNamespace:
    return SimpleNamespace(error=None, payload=json.dumps({"statusCode": 200, "body": name}).encode())


def _answers(url: str) -> bool:
    try:
        return requests.get(url + "health", timeout=3).status_code == 200
    except requests.ConnectionError:
        return False


def test_a_url_handed_out_keeps_answering_while_moto_has_not_recorded_it_yet():
    moto = {}  # what moto lists: name -> URL
    urls = FunctionUrls(lambda: dict(moto), _answering, sync_seconds=3600)
    try:
        url = urls.allocate("guestbook-prod")
        urls.sync()  # moto does not list it yet
        moto["guestbook-prod"] = url  # now it does, with the address it was given
        urls.sync()
        assert _answers(url)
        assert urls.local_urls(sync=False)["guestbook-prod"]["local_url"] == url
    finally:
        urls.stop()


def test_a_url_moto_never_records_is_let_go_after_the_grace():
    urls = FunctionUrls(dict, _answering, sync_seconds=3600, allocation_grace_seconds=0)
    try:
        url = urls.allocate("gone")
        urls.sync()
        assert urls.local_urls(sync=False) == {}
        assert not _answers(url)
    finally:
        urls.stop()


def test_a_url_deleted_in_moto_stops_being_served():
    moto = {}
    urls = FunctionUrls(lambda: dict(moto), _answering, sync_seconds=3600)
    try:
        url = urls.allocate("guestbook-pr-1")
        moto["guestbook-pr-1"] = url
        urls.sync()
        assert _answers(url)
        del moto["guestbook-pr-1"]
        urls.sync()
        assert not _answers(url)
    finally:
        urls.stop()
