"""Mobile Member Platform: wiring only. Routes live in chalicelib/api, consumers in chalicelib/consumers."""

from chalice import Chalice

from chalicelib.api import branches as branches_api
from chalicelib.api import cases as cases_api
from chalicelib.api import content as content_api
from chalicelib.api import dues as dues_api
from chalicelib.api import identity, openapi, orgs
from chalicelib.api import inbox as inbox_api
from chalicelib.api import life as life_api
from chalicelib.api import participation as participation_api
from chalicelib.api import stats as stats_api
from chalicelib.api import transfers as transfers_api
from chalicelib.api.middleware import http_conventions
from chalicelib.consumers import branch_dissolution, org_counts, transfer_expiry, transfer_filing
from chalicelib.consumers import bulletin_ingest as ingest_consumer
from chalicelib.consumers import monthly_filing as filing_consumer
from chalicelib.consumers import scoring as scoring_consumer
from chalicelib.consumers import stats as stats_consumers
from chalicelib.consumers import urgent_push as push_consumer

app = Chalice(app_name="mmp")
app.register_middleware(http_conventions, "http")
app.register_blueprint(identity.bp)
app.register_blueprint(orgs.bp)
app.register_blueprint(dues_api.bp)
app.register_blueprint(cases_api.bp)
app.register_blueprint(branches_api.bp)
app.register_blueprint(transfers_api.bp)
app.register_blueprint(stats_api.bp)
app.register_blueprint(inbox_api.bp)
app.register_blueprint(content_api.bp)
app.register_blueprint(life_api.bp)
app.register_blueprint(participation_api.bp)
app.register_blueprint(openapi.bp)
app.register_blueprint(org_counts.bp)
app.register_blueprint(branch_dissolution.bp)
app.register_blueprint(transfer_filing.bp)
app.register_blueprint(stats_consumers.bp)
app.register_blueprint(transfer_expiry.bp)
app.register_blueprint(ingest_consumer.bp)
app.register_blueprint(push_consumer.bp)
app.register_blueprint(scoring_consumer.bp)
app.register_blueprint(filing_consumer.bp)
