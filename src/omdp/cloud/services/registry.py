"""Registry writes (DM-4..DM-6, CL-14): creates, updates and site moves, each one transaction.

A create relies on the store's unique keys (``INSERT ... ON CONFLICT DO NOTHING``): of
concurrent creates of one id exactly one succeeds, the others raise :class:`Taken`. An update
checks that the entry exists and writes it in the same unit of work.
"""

from __future__ import annotations

from omdp.catalog import PropertyKind
from omdp.cloud.storage.port import MissingReference, RegistryError, Transactional
from omdp.domain.household import Household
from omdp.domain.reading import MeterIndividual, OperationalPropertyDefinition, PhysicalMeterElement


class Taken(RegistryError):
    """A create named an id that is registered already."""


class NotRegistered(RegistryError):
    """An update or erasure named an entry the registry does not hold."""


class RegistryService:
    """Creates and updates of households, properties, elements and meters."""

    def __init__(self, store: Transactional) -> None:
        self.store = store

    # -- households -------------------------------------------------------------------------

    def create_household(self, household: Household) -> Household:
        """Add a household.

        Raises:
            Taken: its id is registered already.
        """
        with self.store.unit_of_work() as uow:
            if not uow.registry.create_household(household):
                msg = f"household {household.household_id!r} exists already"
                raise Taken(msg)
        return household

    def update_household(self, household: Household) -> Household:
        """Replace a registered household.

        Raises:
            NotRegistered: no household has its id.
        """
        with self.store.unit_of_work() as uow:
            if uow.registry.get_household(household.household_id) is None:
                msg = f"no household {household.household_id!r}"
                raise NotRegistered(msg)
            uow.registry.put_household(household)
        return household

    # -- operational properties (DM-4) ----------------------------------------------------------

    def create_property(
        self, definition: OperationalPropertyDefinition, kind: PropertyKind
    ) -> OperationalPropertyDefinition:
        """Add a deployment-level property.

        Raises:
            Taken: its id is registered already (also as a catalogue property).
        """
        with self.store.unit_of_work() as uow:
            if not uow.registry.create_property(definition, kind=kind):
                msg = f"operational property {definition.property_id!r} exists already"
                raise Taken(msg)
        return definition

    def update_property(
        self, definition: OperationalPropertyDefinition, kind: PropertyKind
    ) -> OperationalPropertyDefinition:
        """Replace a registered property definition.

        Raises:
            NotRegistered: no property has its id.
        """
        with self.store.unit_of_work() as uow:
            if uow.registry.get_property(definition.property_id) is None:
                msg = f"no operational property {definition.property_id!r}"
                raise NotRegistered(msg)
            uow.registry.put_property(definition, kind=kind)
        return definition

    # -- physical meter elements (DM-5) ---------------------------------------------------------

    def create_element(self, element: PhysicalMeterElement) -> PhysicalMeterElement:
        """Add an element and the properties it provides; the element as stored.

        Raises:
            Taken: its id is registered already.
        """
        with self.store.unit_of_work() as uow:
            if not uow.registry.create_element(element):
                msg = f"physical meter element {element.physical_element_id!r} exists already"
                raise Taken(msg)
            return uow.registry.get_element(element.physical_element_id) or element

    def update_element(self, element: PhysicalMeterElement) -> PhysicalMeterElement:
        """Replace a registered element and its properties; the element as stored.

        Raises:
            NotRegistered: no element has its id.
        """
        with self.store.unit_of_work() as uow:
            if uow.registry.get_element(element.physical_element_id) is None:
                msg = f"no physical meter element {element.physical_element_id!r}"
                raise NotRegistered(msg)
            uow.registry.put_element(element)
            return uow.registry.get_element(element.physical_element_id) or element

    # -- meter individuals (DM-6) and their sites (CL-14) ---------------------------------------

    def create_meter(
        self, meter: MeterIndividual, *, concentrator_id: str | None = None
    ) -> MeterIndividual:
        """Add a meter (an embedded element is stored too) with its site; the meter as stored.

        Raises:
            Taken: its id is registered already.
            MissingReference: its household is not registered.
        """
        with self.store.unit_of_work() as uow:
            if not uow.registry.create_meter(meter, concentrator_id=concentrator_id):
                msg = f"meter individual {meter.meter_individual_id!r} exists already"
                raise Taken(msg)
            return uow.registry.get_meter(meter.meter_individual_id) or meter

    def update_meter(self, meter: MeterIndividual) -> MeterIndividual:
        """Replace a registered meter; the meter as stored.

        Raises:
            NotRegistered: no meter has its id.
            MissingReference: its household is not registered.
        """
        with self.store.unit_of_work() as uow:
            if uow.registry.get_meter(meter.meter_individual_id) is None:
                msg = f"no meter individual {meter.meter_individual_id!r}"
                raise NotRegistered(msg)
            household = meter.household_id
            if household is not None and uow.registry.get_household(household) is None:
                msg = f"no household {household!r}"
                raise MissingReference(msg, field="householdId")
            uow.registry.put_meter(meter)
            return uow.registry.get_meter(meter.meter_individual_id) or meter

    def move_meter(self, meter_id: str, concentrator_id: str | None) -> None:
        """Make ``concentrator_id`` the site of a registered meter (None: no site).

        Raises:
            NotRegistered: no meter has this id.
        """
        with self.store.unit_of_work() as uow:
            if not uow.registry.set_meter_site(meter_id, concentrator_id):
                msg = f"no meter individual {meter_id!r}"
                raise NotRegistered(msg)
