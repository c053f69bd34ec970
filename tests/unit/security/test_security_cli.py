"""The security commands through click (CM-1, AD-5, CL-6, CL-14, APP-5)."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import jwt
import pytest
import yaml
from click.testing import CliRunner

from omdp.cli.security_cmd import adapterfile, broker, certs, token, user
from omdp.errors import StorageError


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "cloud.yaml"
    creds = tmp_path / "data" / "device-credentials.json"
    path.write_text(yaml.safe_dump({"api": {"credentials_file": str(creds)}}), encoding="utf-8")
    return path


def test_cm1_certs_commands_write_private_keys(tmp_path: Path) -> None:
    """CM-1, CL-7: CA, server (SANs) and client certificates; keys mode 600."""
    run = CliRunner()
    pki = tmp_path / "pki"
    assert run.invoke(certs, ["init", str(pki)]).exit_code == 0
    assert run.invoke(certs, ["init", str(pki)]).exit_code != 0  # no silent overwrite
    assert run.invoke(certs, ["server", str(pki), "broker.site"]).exit_code == 0
    assert run.invoke(certs, ["client", str(pki), "meter-1"]).exit_code == 0
    for key in ("ca.key", "server.key", "meter-1.key"):
        assert stat.S_IMODE((pki / key).stat().st_mode) == 0o600
    from cryptography import x509

    cert = x509.load_pem_x509_certificate((pki / "server.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "broker.site" in names.get_values_for_type(x509.DNSName)


def test_cl6_app5_user_and_token_commands(tmp_path: Path) -> None:
    """CL-6, APP-5: users with roles, read-only tokens issued, listed and revoked."""
    run = CliRunner()
    cfg = ["--config", str(_config(tmp_path))]
    r = run.invoke(
        user,
        ["add", *cfg, "alice", "--role", "owner", "--household", "h-1", "--password-stdin"],
        input="correct-horse\n",
    )
    assert r.exit_code == 0, r.output
    r = run.invoke(user, ["add", *cfg, "bob", "--role", "owner", "--password-stdin"], input="x" * 9)
    assert r.exit_code != 0  # an owner needs a household
    r = run.invoke(user, ["add", *cfg, "svc", "--role", "operator", "--client"])
    assert "client_secret:" in r.output
    listed = run.invoke(user, ["list", *cfg]).output
    assert "alice\tuser\towner\th-1" in listed
    assert "correct-horse" not in listed
    r = run.invoke(user, ["passwd", *cfg, "alice", "--password-stdin"], input="new-password\n")
    assert r.exit_code == 0
    r = run.invoke(token, ["issue", *cfg, "--subject", "dashboard", "--days", "30"])
    assert r.exit_code == 0, r.output
    jti_line, text = r.output.splitlines()[:2]
    jti = jti_line.removeprefix("jti: ")
    assert jwt.decode(text, options={"verify_signature": False})["scope"] == "readings:read"
    assert "valid" in run.invoke(token, ["list", *cfg]).output
    revoked = run.invoke(token, ["revoke", *cfg, jti])
    assert revoked.exit_code == 0, "a jti never looks like an option"
    assert "revoked" in run.invoke(token, ["list", *cfg]).output
    assert run.invoke(token, ["rotate-key", *cfg]).exit_code == 0
    assert run.invoke(user, ["remove", *cfg, "alice"]).exit_code == 0


def test_cm1_cl14_broker_config_command(tmp_path: Path) -> None:
    """CM-1, CL-14: password, ACL and conf files from the credential store and roles."""
    run = CliRunner()
    cfg = ["--config", str(_config(tmp_path))]
    for name, role in (("meter-1", "adapter"), ("conc-1", "concentrator"), ("cloud", "ingest")):
        r = run.invoke(
            broker, ["passwd", *cfg, name, "--role", role, "--password-stdin"], input="pw-123456\n"
        )
        assert r.exit_code == 0, r.output
    out = tmp_path / "broker"
    r = run.invoke(
        broker,
        [
            "config",
            *cfg,
            "--out",
            str(out),
            "--ca",
            "ca.crt",
            "--cert",
            "s.crt",
            "--key",
            "s.key",
            "--localhost-port",
            "1883",
        ],
    )
    assert r.exit_code == 0, r.output
    acl = (out / "acl_file").read_text()
    assert "user meter-1\ntopic write smartMeterMessage/meter-1/#\n" in acl
    # no meter has conc-1 as its site yet: no meter topic, only its own receipts (CO-2)
    assert "user conc-1\ntopic read omdp/receipts/conc-1\n\n" in acl
    assert "user cloud\ntopic read concentrator/#\ntopic read $share/+/concentrator/#" in acl
    assert (out / "password_file").read_text().count(":$7$") == 3
    conf = (out / "mosquitto.conf").read_text()
    assert "listener 8883\n" in conf
    assert "listener 1883 127.0.0.1" in conf
    assert conf.count("allow_anonymous false") == 2
    assert conf.count("use_username_as_clientid true") == 2  # client ids bound to users
    assert stat.S_IMODE((out / "password_file").stat().st_mode) == 0o600


def test_ad5_adapterfile_sign_verify_encrypt(tmp_path: Path) -> None:
    """AD-5: sign with the cloud key, verify with its public key, encrypt secrets in place."""
    run = CliRunner()
    cfg = ["--config", str(_config(tmp_path))]
    file = tmp_path / "adapter.yaml"
    file.write_text(
        yaml.safe_dump({"MeterIndividualId": "m", "CloudAuth": {"password": "pw"}}),
        encoding="utf-8",
    )
    trust = run.invoke(adapterfile, ["public-key", *cfg]).output.strip()
    assert trust.startswith("ed25519:")
    assert run.invoke(adapterfile, ["sign", *cfg, str(file)]).exit_code == 0
    assert run.invoke(adapterfile, ["verify", str(file), "--trust", trust]).exit_code == 0
    key = tmp_path / "secret.key"
    r = run.invoke(adapterfile, ["encrypt-secrets", str(file), "--key-file", str(key)])
    assert r.exit_code == 0, r.output
    assert "pw" not in yaml.safe_load(file.read_text())["CloudAuth"]["password"][:3]
    file.write_text(file.read_text().replace("MeterIndividualId: m", "MeterIndividualId: x"))
    r = run.invoke(
        adapterfile,
        ["verify", str(file), "--trust", trust],
        env={"OMDP_ADAPTER_SECRET_KEY_FILE": str(key)},
    )
    assert r.exit_code != 0
    assert "signature does not match" in r.output


def _broker_config(tmp_path: Path, *extra: str) -> list[str]:
    cfg = _config(tmp_path)
    settings = yaml.safe_load(cfg.read_text(encoding="utf-8"))
    settings["db"] = {"url": f"sqlite:///{tmp_path / 'cloud.sqlite3'}"}  # the registry's sites
    cfg.write_text(yaml.safe_dump(settings), encoding="utf-8")
    run = CliRunner()
    r = run.invoke(
        broker, ["passwd", "--config", str(cfg), "conc-1", "--role", "concentrator",
                 "--password-stdin"], input="pw-123456\n",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    return ["config", "--config", str(cfg), "--out", str(tmp_path / "broker"), "--ca", "ca.crt",
            "--cert", "s.crt", "--key", "s.key", *extra]  # fmt: skip


def test_cm1_cl14_broker_config_says_what_it_wrote_before_it_signals(tmp_path: Path) -> None:
    """CM-1, CL-14: "signalled the broker" came before "wrote ...", as if the broker had been
    told before the files existed."""
    sleeper = subprocess.Popen(  # a broker stand-in that survives SIGHUP
        [sys.executable, "-c", "import signal,time; signal.signal(signal.SIGHUP, "
         "signal.SIG_IGN); time.sleep(60)"],
    )  # fmt: skip
    try:
        pid_file = tmp_path / "mosquitto.pid"
        pid_file.write_text(f"{sleeper.pid}\n")
        args = _broker_config(tmp_path, "--reload-pid", str(pid_file))
        r = CliRunner().invoke(broker, args)
        assert r.exit_code == 0, r.output
        lines = r.output.splitlines()
        assert lines[0].startswith("wrote ")
        assert lines[1] == f"signalled the broker (pid {sleeper.pid})"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_cm1_cl14_broker_config_watch_outlives_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CM-1, CL-14: ``--watch`` runs as a service beside the broker; one failed round (the
    database restarting) used to end it with the error. Now it says so and tries again."""
    from omdp.cli import security_cmd

    real = security_cmd._write_broker
    calls = {"write": 0, "sleep": 0}

    def flaky(*args: Any, **kwargs: Any) -> Any:
        calls["write"] += 1
        if calls["write"] == 1:
            msg = "cannot connect to PostgreSQL at db:5432/omdp"
            raise StorageError(msg)
        return real(*args, **kwargs)

    def sleep(_s: float) -> None:
        calls["sleep"] += 1
        if calls["sleep"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(security_cmd, "_write_broker", flaky)
    monkeypatch.setattr("omdp.cli.security_cmd.time.sleep", sleep)
    r = CliRunner().invoke(broker, _broker_config(tmp_path, "--watch", "5"))
    assert "Error: cannot connect to PostgreSQL at db:5432/omdp; trying again in 5 s" in r.output
    assert "wrote " in r.output.split("trying again")[1]
    assert "; writing again every 5 s" in r.output  # the first round says it keeps going
    assert calls["write"] == 2


def test_cm1_cl14_broker_config_watch_says_it_runs_even_when_nothing_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CM-1, CL-14: started again on files that were already current, ``--watch`` printed
    nothing at all: no sign that it was running, nor where it writes."""
    args = _broker_config(tmp_path, "--watch", "30")
    assert CliRunner().invoke(broker, args[:-2]).exit_code == 0  # the files, once

    def sleep(_s: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("omdp.cli.security_cmd.time.sleep", sleep)
    r = CliRunner().invoke(broker, args)
    assert "wrote " in r.output
    assert "; writing again every 30 s" in r.output
