# bankfeed: cgo build (SQLite), minimal glibc runtime, non-root.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -tags sqlite_omit_load_extension -ldflags="-s -w" -o /out/bankfeed ./cmd/bankfeed

FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/bankfeed /usr/local/bin/bankfeed
# The database lives in a volume directory: WAL adds -wal and -shm files
# beside it, and the run lock adds bankfeed.db.lock.
ENV BANKFEED_DB=/data/bankfeed.db BANKFEED_REPORT_DIR=/data/reports
# serve always listens (/metrics, /healthz, /readyz, /plaid/webhook; the
# business API only with keys): on every interface, or no probe or scrape
# from outside the container reaches it.
ENV BANKFEED_LISTEN=:8080
EXPOSE 8080
VOLUME ["/data"]
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/bankfeed"]
CMD ["serve"]
