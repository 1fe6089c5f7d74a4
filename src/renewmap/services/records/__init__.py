"""Participation records (issue 18): what people did together. A community's meetings
register, its proposals (社区规划提案), a site's money and materials with the public
disclosure (居务公开), and the counts per community and subdistrict per year.

Records belong to one community; its staff read them (``access``), its admins and party
secretaries keep them. Contact details (names and phones of proposers, donors, attendees)
never leave the staff's scope.
"""
