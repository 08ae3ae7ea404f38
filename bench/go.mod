module github.com/arbor-otp/arbor/bench

go 1.26.0

replace github.com/arbor-otp/arbor => ../

require (
	codeberg.org/go-fonts/liberation v0.4.1 // indirect
	codeberg.org/go-latex/latex v0.0.1 // indirect
	codeberg.org/go-pdf/fpdf v0.10.0 // indirect
	ergo.services/ergo v1.999.310
	git.sr.ht/~sbinet/gg v0.6.0 // indirect
	github.com/ajstarks/svgo v0.0.0-20211024235047-1546f124cd8b // indirect
	github.com/anthdm/hollywood v1.0.5 // indirect
	github.com/arbor-otp/arbor v0.0.0-00010101000000-000000000000 // indirect
	github.com/campoy/embedmd v1.0.0 // indirect
	github.com/golang/freetype v0.0.0-20170609003504-e2365dfdc4a0 // indirect
	github.com/pmezard/go-difflib v1.0.1-0.20181226105442-5d4384ee4fb2 // indirect
	github.com/tochemey/goakt/v4 v4.2.13 // indirect
	golang.org/x/image v0.24.0 // indirect
	golang.org/x/text v0.38.0 // indirect
	gonum.org/v1/plot v0.15.2 // indirect
)

replace ergo.services/ergo => github.com/ergo-services/ergo v1.999.310
