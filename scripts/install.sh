#!/usr/bin/env bash
# Installs MEDTalk Live and everything it needs on a fresh Debian/Ubuntu machine (Python 3.11).
# Run as root, or as a user with sudo: the Debian packages are the speech synthesisers of the
# corpus generator, sox, the codec2 speech examples the tests use, and the C++ tool chain of the
# Unreal plugin's protocol tests, and Chromium with its WebDriver for the preview page's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    espeak-ng libespeak-ng1 flite sox codec2-examples g++ libzmq3-dev libportaudio2 \
    chromium chromium-driver >/dev/null
python3 -m pip install -q -e '.[synth,test,backbones]'
