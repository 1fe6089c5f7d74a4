# Convenience wrappers; ./dev is the real entry point (make is not on every fresh machine).
.PHONY: run test bench demo-data
run:
	./dev run
test:
	./dev test
bench:
	./dev bench
demo-data:
	./dev demo-data
