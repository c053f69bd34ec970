"""Examples in the OpenAPI document, copied from real requests and answers of the API."""

from __future__ import annotations

from typing import Any

from fastapi import Body

_ONE_MONTH = {
    "readingTimeStart": "2024-03-01T00:00:00+01:00",
    "readingTimeEnd": "2024-04-01T00:00:00+02:00",
    "operationalProperties": [
        {"specificPropertyName": "OBIS_1.8.0"},
        {"specificPropertyName": "OBIS_1.7.0", "numericalValueGreaterThan": 0.5},
    ],
    "pageNumber": 0,
    "pageSize": 100,
}

QUERY_EXAMPLES = Body(
    openapi_examples={
        "month": {
            "summary": "Import register and power above 0.5 kW in March, first page",
            "value": _ONE_MONTH,
        },
        "bulk": {
            "summary": "A whole year as a bulk download",
            "value": {
                "readingTimeStart": "2024-01-01T00:00:00Z",
                "readingTimeEnd": "2025-01-01T00:00:00Z",
                "resultForm": "bulk",
            },
        },
        "everything": {"summary": "Every field optional: all readings", "value": {}},
    }
)

RESPONSE_EXAMPLES: dict[str, Any] = {
    "page": {
        "summary": "A page of readings (researcher: pseudonymous meter ids)",
        "value": {
            "page": 0,
            "content": [
                {
                    "readingTime": "2024-03-01T00:15:00+00:00",
                    "meterId": "pseu-5f0c1b8e2a9d4c7f8e6b3a1d0c9e8f7a",
                    "propertyValues": [
                        {"propertyName": "OBIS_1.8.0", "numericalValue": 1523.417, "unit": "kWh"},
                        {"propertyName": "OBIS_1.7.0", "numericalValue": 0.734, "unit": "kW"},
                    ],
                }
            ],
            "pageSize": 100,
            "totalRows": 2976,
            "totalPages": 30,
            "resultForm": "json",
        },
    },
    "bulk": {
        "summary": "A bulk link",
        "value": {
            "linkToBulk": "https://cloud.example/api/v1/bulk/eJyrVkpS0lJKUbJSMDQw.0aY3Hc?format=ndjson",
            "totalRows": 35040,
            "resultForm": "bulk",
        },
    },
}
