"""`python -m gwo_assets.sandbox up` as a caller uses it: one JSON line, then serve until a signal."""

import json
import signal
import socket
import subprocess
import sys

import boto3
import pytest
import requests

pytestmark = pytest.mark.timeout(120)


def _up(*args, stderr):
    return subprocess.Popen([sys.executable, "-m", "gwo_assets.sandbox", "up", *args],
                            stdout=subprocess.PIPE, stderr=stderr, text=True)


def _ready(process):
    line = process.stdout.readline()
    assert line, "the sandbox exited before printing its JSON line"
    return json.loads(line)


def _run_to_exit(*args):
    done = subprocess.run([sys.executable, "-m", "gwo_assets.sandbox", "up", *args],
                          capture_output=True, text=True, timeout=60)
    return done.returncode, done.stdout, done.stderr


def test_up_prints_one_json_line_serves_both_and_exits_0_on_sigterm(tmp_path):
    with open(tmp_path / "stderr.log", "w") as log:
        process = _up("--specimens", "4", "--seed", "3", "--workdir", str(tmp_path / "work"), stderr=log)
        try:
            info = _ready(process)
            status = requests.get(f"{info['dataservice_url']}/status", timeout=10)
            participants = requests.get(f"{info['dataservice_url']}/participants",
                                        params={"study_id": info["study_id"]}, timeout=10).json()
            s3 = boto3.client("s3", endpoint_url=info["s3_endpoint_url"], region_name=info["region"],
                              aws_access_key_id=info["aws_access_key_id"],
                              aws_secret_access_key=info["aws_secret_access_key"])
            objects = s3.list_objects_v2(Bucket=info["bucket"], Prefix="harmonized/")
        finally:
            process.send_signal(signal.SIGTERM)
            returncode = process.wait(timeout=30)
    assert status.status_code == 200
    assert participants["total"] == info["counts"]["participants"] > 0
    assert objects["KeyCount"] == info["counts"]["harmonized_files"]
    assert info["manifest"].startswith(str(tmp_path)) and info["manifest"].endswith(".tsv")
    assert open(info["manifest"]).readline().startswith("Cavatica ID\t")
    assert process.stdout.read() == ""  # nothing but the one line on stdout
    assert returncode == 0
    run_yaml = tmp_path / "work" / "run.yaml"  # a ready dry-run config, by default in --workdir
    assert info["run_config"] == str(run_yaml)
    assert f"study {info['study_id']}" in run_yaml.read_text()
    printed = (tmp_path / "stderr.log").read_text()
    assert f"gwo ingest {info['study_id']} {info['manifest']} --config {run_yaml}" in printed
    assert f"dg launch --job ingest_gwo --partition {info['study_id']} --config {run_yaml}" in printed


def test_up_with_no_specimens_starts_empty_and_exits_0_on_sigint(tmp_path):
    with open(tmp_path / "stderr.log", "w") as log:
        process = _up("--specimens", "0", stderr=log)
        try:
            info = _ready(process)
            studies = requests.get(f"{info['dataservice_url']}/studies", timeout=10).json()
            s3 = boto3.client("s3", endpoint_url=info["s3_endpoint_url"], region_name=info["region"],
                              aws_access_key_id="testing", aws_secret_access_key="testing")
            head = s3.head_bucket(Bucket=info["bucket"])
        finally:
            process.send_signal(signal.SIGINT)
            returncode = process.wait(timeout=30)
    assert (info["study_id"], info["manifest"], info["run_config"]) == (None, None, None)
    assert studies["total"] == 0
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert returncode == 0


def test_busy_port_is_refused_with_one_line_and_exit_2():
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        returncode, stdout, stderr = _run_to_exit("--specimens", "0", "--s3-port", str(port))
    assert returncode == 2
    assert stdout == ""
    assert stderr.count("\n") == 1 and str(port) in stderr and "Traceback" not in stderr


def test_unwritable_workdir_is_refused_with_one_line_and_exit_2(tmp_path):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    returncode, stdout, stderr = _run_to_exit("--specimens", "0", "--workdir", str(not_a_directory / "sub"))
    assert returncode == 2
    assert stdout == ""
    assert stderr.count("\n") == 1 and "--workdir" in stderr and "Traceback" not in stderr
