#!/bin/sh
# trap.sh: the talk's well-behaved application. It announces its PID, waits
# for a stop signal, and answers TERM, INT, QUIT or HUP with a short, visible
# cleanup. Whether the cleanup lines appear is what the demo measures: they
# appear only when the signal actually reaches this script.

echo "Iniciando o processo (PID $$)..."

# The sleep that the main loop is waiting for. Kept so the handler can end
# it: otherwise a stop would leave it behind as a stray process.
pid=

cleanup() {
	# Once is enough: a second signal (Ctrl-C twice, or an init's SIGTERM
	# after the terminal's SIGINT) must not start the cleanup again.
	trap '' TERM INT QUIT HUP
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
	fi
	echo "Trapped: $1"
	echo "Encerrando o processo graciosamente..."
	sleep 1
	echo "Processo encerrado"
	exit 0
}

trap 'cleanup TERM' TERM
trap 'cleanup INT' INT
trap 'cleanup QUIT' QUIT
trap 'cleanup HUP' HUP

# The shell runs a trap only between commands, and a foreground "sleep"
# would delay it until the sleep ends. "wait" is interrupted by a trapped
# signal at once, so sleep in the background and wait for it: no busy loop,
# and the signal is handled immediately.
while :; do
	sleep 1 &
	pid=$!
	wait "$pid"
done
