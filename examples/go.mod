module github.com/initd/initd/examples

go 1.26.0
