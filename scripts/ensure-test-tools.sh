#!/usr/bin/env bash
# Installs what the rendering and browser tests need (headless LibreOffice, Japanese fonts,
# poppler, headless Chromium with its chromedriver) when it is missing and this machine can
# install Debian packages. Otherwise those tests skip and say why; nothing else depends on them.
set -u
missing=()
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer-nogui)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
fc-list 2>/dev/null | grep -qi "IPA" || missing+=(fonts-ipafont-mincho fonts-ipafont-gothic)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "LibreOffice や Chromium などが見つからないため、Word の表示確認とブラウザのテストは省略されます（必要なパッケージ: ${missing[*]}）。" >&2
  exit 0
fi
echo "テスト用に ${missing[*]} をインストールします…" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || echo "パッケージのインストールに失敗しました。Word の表示確認とブラウザのテストは省略されます。" >&2
exit 0
