#!/bin/sh
# The app: its version and the first entry of each installed dependency.
echo "app $(cat "$(dirname "$0")/VERSION")"
for dep in /opt/deps/*.gz; do
  echo "$(basename "$dep" .gz): $(zcat "$dep" | head -n 1)"
done
