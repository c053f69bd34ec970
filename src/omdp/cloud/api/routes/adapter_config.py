"""``POST /v1/adapterConfigurations`` (CL-10, CM-3): a new meter and its adapter's file.

The file is :class:`~omdp.domain.adapter_file.AdapterConfigFile`, valid by
``schemas/adapter-config.json`` and usable by ``omdp adapter run`` as it is. Default mappings
come from the element's properties: an OBIS property ``OBIS_C.D.E`` is read from the OBIS code
``1-0:C.D.E``; other properties from the JSON path ``$.<propertyId>``. The credentials are the
device's own: username = the new meter's id, a random password shown only in this answer; the
server keeps a hash of it. ``Adapter`` carries the household's timezone (readings' offsets) and
id, and no ``outboxPath``: each adapter keeps its own outbox named after its meter id.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Annotated, Any, Literal

import orjson
import yaml
from fastapi import APIRouter, Header, Query, Response

from omdp.cloud.api.checks import reject_nul, require_properties
from omdp.cloud.api.credentials import hash_password
from omdp.cloud.api.deps import ApiContext, CtxDep, RegistrarDep
from omdp.cloud.api.errors import Invalid, error_responses
from omdp.cloud.api.routes.common import registry_answers
from omdp.cloud.api.schemas import AdapterConfigRequest, IssuedAdapterConfigFile
from omdp.cloud.api.security import config_signing_key
from omdp.cloud.services.registry import RegistryService
from omdp.domain.adapter_file import AdapterConfigFile, BrokerConnection, PropertyMapping
from omdp.domain.reading import MeterIndividual
from omdp.security.protect import sign_document

router = APIRouter(prefix="/v1", tags=["adapter configuration"])


def default_source(property_id: str) -> str:
    """Where an adapter reads ``property_id`` by default: ``OBIS_C.D.E`` -> ``1-0:C.D.E``."""
    if property_id.startswith("OBIS_"):
        groups = property_id.removeprefix("OBIS_").split(".")
        if len(groups) == 3 and all(g.isdigit() for g in groups):
            return "1-0:" + ".".join(groups)
    return f"$.{property_id}"


def _build(ctx: ApiContext, body: AdapterConfigRequest) -> dict[str, Any]:
    store = ctx.store
    element = store.get_element(body.physical_element_id)
    if element is None:
        msg = f"no physical meter element {body.physical_element_id!r}"
        raise Invalid(msg, loc="$.physicalElementId")
    household = store.get_household(body.household_id)
    if household is None:
        msg = f"no household {body.household_id!r}"
        raise Invalid(msg, loc="$.householdId")
    require_properties(
        store,
        [(f"$.mappingOverrides[{i}].to", m.target) for i, m in enumerate(body.mapping_overrides)]
        + [(f"$.staticValues[{i}].to", s.to) for i, s in enumerate(body.static_values)],
    )
    mappings = {
        p.property_id: PropertyMapping(source=default_source(p.property_id), target=p.property_id)
        for p in element.physical_meter_operational_properties
    }
    mappings.update({m.target: m for m in body.mapping_overrides})
    meter_id = str(uuid.uuid4())
    meter = MeterIndividual(
        meter_individual_id=meter_id,
        meter_individual_name=body.meter_individual_name,
        meter_individual_description=body.meter_individual_description,
        household_id=body.household_id,
        physical_meter_type=element,
    )
    with registry_answers():  # the meter and its site in one transaction
        RegistryService(store).create_meter(meter, concentrator_id=body.concentrator_id)
    password = secrets.token_urlsafe(24)
    ctx.credentials.put(meter_id, hash_password(password))
    configured = ctx.settings.api.adapter_broker
    broker = body.broker or BrokerConnection(
        host=configured.host,
        port=configured.port,
        protocol=configured.protocol,
        tls=configured.tls,
        ca_file=configured.ca_file,
        client_id=meter_id,
    )
    config = AdapterConfigFile.model_validate(
        {
            "MeterIndividualId": meter_id,
            "OperationalPropertyMapping": list(mappings.values()),
            "CloudAuth": {"username": meter_id, "password": password},
            "StaticValues": body.static_values,
            "Broker": broker,
            "Meter": body.meter,
            # no outboxPath: the adapter keeps {meter id}.outbox.sqlite3 in its state folder,
            # so that two adapters never share one (a relative path in files issued into one
            # folder would)
            "Adapter": {"timezone": household.timezone, "householdId": body.household_id},
        }
    )
    data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["CloudAuth"]["password"] = password  # the one time it is shown
    # AD-5: the adapter verifies this signature at start when it trusts the cloud's key
    return sign_document(data, config_signing_key(ctx.settings))


@router.post(
    "/adapterConfigurations",
    status_code=201,
    summary="Create a meter individual and its adapter configuration file (CL-10)",
    description=(
        "Creates a new MeterIndividual (fresh id) of the physical meter element "
        "`physicalElementId` in household `householdId` and answers its adapter configuration "
        "file, as YAML (`?format=yaml` or `Accept: application/yaml`) or JSON (default). "
        "Mappings default to the element's properties (`OBIS_C.D.E` read from `1-0:C.D.E`, "
        "other properties from `$.<propertyId>`); `mappingOverrides` replace or add mappings "
        "by `to`; `staticValues` add facts the meter does not know. `CloudAuth` carries the "
        "device's credentials (username = meter id, a random password shown only here). "
        "Needs `registry:write`."
    ),
    responses={
        201: {
            "description": "The adapter configuration file.",
            "model": IssuedAdapterConfigFile,
            "content": {"application/yaml": {"schema": {"type": "string"}}},
        },
        **error_responses(401, 403, 422),
    },
)
def create_adapter_configuration(
    _: RegistrarDep,
    ctx: CtxDep,
    body: AdapterConfigRequest,
    format: Annotated[
        Literal["json", "yaml"] | None, Query(description="json or yaml; else by Accept.")
    ] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Create the meter and answer its file."""
    reject_nul(body)
    data = _build(ctx, body)
    as_yaml = format == "yaml" or (format is None and "yaml" in (accept or ""))
    location = f"meterIndividuals/{data['MeterIndividualId']}"
    if as_yaml:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        return Response(
            text, status_code=201, media_type="application/yaml", headers={"Location": location}
        )
    return Response(
        orjson.dumps(data),
        status_code=201,
        media_type="application/json",
        headers={"Location": location},
    )
