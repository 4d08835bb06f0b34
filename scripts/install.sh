#!/usr/bin/env bash
# Install everything aiida-znadditive needs on a fresh Debian machine: system packages (as root), service
# configuration, and the Python environment in .venv. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

# slurm-wlm, munge and openssh-server: the SLURM and SSH test lane starts its own single-node cluster and sshd on the
# loopback (aiida_znadditive/environment/slurm.py); Debian's packages do not start them on install. chromium: the test
# of `report`'s HTML page renders it headless (tests/provenance/test_report.py).
APT_PACKAGES=(cp2k postgresql rabbitmq-server graphviz packmol xtb openmpi-bin slurm-wlm munge openssh-server openssh-client
  chromium)
missing=()
for binary in cp2k.psmp pg_ctlcluster rabbitmq-server dot packmol xtb mpirun slurmctld slurmd munged sshd ssh chromium; do
  command -v "$binary" >/dev/null 2>&1 || [ -x "/usr/sbin/$binary" ] || missing+=("$binary")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing system programs: ${missing[*]}. Run this script as root (sudo bash scripts/install.sh)," >&2
    echo "or ask your administrator for the Debian packages: ${APT_PACKAGES[*]}" >&2
    exit 1
  fi
  echo "==> apt-get install ${APT_PACKAGES[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
fi

# RabbitMQ: no consumer timeout (AiiDA's long-running processes would be cut after 30 min) and loopback only: AMQP
# (5672), the inter-node port (25672) and epmd (4369). `aiida-znadditive setup` starts RabbitMQ with the same settings
# in its environment; these files keep a server started any other way (by hand, by an init script) off the network.
if [ "$(id -u)" -eq 0 ] && [ -d /etc/rabbitmq ]; then
  # kernel.inet_dist_use_interface: the inter-node port (25672) on the loopback too; NODE_IP_ADDRESS covers 5672.
  echo '[{rabbit,[{consumer_timeout,undefined}]},{kernel,[{inet_dist_use_interface,{127,0,0,1}}]}].' \
    > /etc/rabbitmq/advanced.config
  # '^': Debian's file holds commented-out lines, which must not count as the setting; each line on its own, so a
  # file that has one of them still gets the other.
  for setting in NODE_IP_ADDRESS=127.0.0.1 ERL_EPMD_ADDRESS=127.0.0.1; do
    grep -q "^${setting%%=*}=" /etc/rabbitmq/rabbitmq-env.conf 2>/dev/null ||
      echo "$setting" >> /etc/rabbitmq/rabbitmq-env.conf
  done
fi
# PostgreSQL: loopback only (Debian's default, stated so that an edited postgresql.conf cannot open it by accident;
# conf.d is read after postgresql.conf, so this wins). Each profile gets its own role and generated password.
if [ "$(id -u)" -eq 0 ]; then
  for confd in /etc/postgresql/*/main/conf.d; do
    [ -d "$confd" ] && echo "listen_addresses = 'localhost'  # aiida-znadditive: loopback only" > "$confd/znadditive.conf"
  done
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
# torch first and pinned: 2.13.0 is the CPU wheel this machine class ships; anything else pulls a CUDA build.
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  echo "==> pip install torch==2.13.0"
  .venv/bin/pip install -q --disable-pip-version-check torch==2.13.0
fi
echo "==> pip install -e .[ml,dev,docs] (versions of requirements/constraints.txt)"
.venv/bin/pip install -q --disable-pip-version-check -c requirements/constraints.txt -e '.[ml,dev,docs]' 2>&1 | grep -v "^WARNING: Location" || true
# MOSES/ZINC SMILES ship in the molsets wheel; its pinned dependencies (pandas<1, old torch) are not needed to read them.
.venv/bin/python -c 'import importlib.util as u; exit(u.find_spec("moses") is None)' 2>/dev/null ||
  .venv/bin/pip install -q --disable-pip-version-check --no-deps molsets==0.3.1 2>&1 | grep -v "^WARNING: Location" || true
.venv/bin/python -c 'import aiida_znadditive, aiida_pyscf, aiida_cp2k' && echo "==> environment ready: $(du -sh .venv | cut -f1) in .venv"
