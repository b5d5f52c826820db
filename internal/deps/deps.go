package deps
import (
 _ "github.com/plaid/plaid-go/v29/plaid"
 _ "github.com/mattn/go-sqlite3"
 _ "github.com/robfig/cron/v3"
 _ "github.com/rs/zerolog"
 _ "github.com/shopspring/decimal"
 _ "golang.org/x/time/rate"
 _ "golang.org/x/sync/errgroup"
 _ "golang.org/x/text/currency"
 _ "github.com/getkin/kin-openapi/openapi3filter"
 _ "github.com/google/go-cmp/cmp"
)
